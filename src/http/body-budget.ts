import { assert } from "../core/assert.ts";
import { GafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";

const leases = new WeakMap<Request, BodyLease>();

/** The lease of a request running under RequestBodyBudget.during(), undefined for one outside it (a handler called directly). */
export function bodyLeaseOf(request: Request): BodyLease | undefined {
  return leases.get(request);
}

/**
 * The broker-wide budget for request-body bytes in memory at once
 * (`--request-bytes-in-flight-max`). Each request's body is counted from
 * the moment it is taken on (its Content-Length, before a byte is read; a
 * chunked body chunk by chunk as it arrives) until its handler has
 * answered, whatever the outcome: a consumed body, an error, a connection
 * the client dropped or that went silent past the idle timeout (Bun then
 * fails the body's read, and the handler ends). A body that does not fit is
 * refused with 503 `server_busy` (retriable, Retry-After) before it is read
 * further, so parallel large produces queue at the client instead of in the
 * broker's memory.
 *
 * Bodies over limits.requestBodySmallBytesMax leave the budget's last
 * 1/limits.requestBytesInFlightSmallShare free, so heartbeats, commits,
 * topic creation and small produces still go through while large produces
 * fill the rest.
 */
export class RequestBodyBudget {
  private inFlightBytes = 0;

  constructor(readonly bytesMax: number) {
    if (!Number.isSafeInteger(bytesMax) || bytesMax < 1) throw new RangeError(`the body budget must be a positive integer, not ${bytesMax}`);
  }

  /** What a body over limits.requestBodySmallBytesMax may have in flight with every other: the budget less the part kept for small bodies. */
  get largeBodiesBytesMax(): number {
    return this.bytesMax - Math.floor(this.bytesMax / limits.requestBytesInFlightSmallShare);
  }

  /** Body bytes held now, by every request under way. */
  get bytesInFlight(): number {
    return this.inFlightBytes;
  }

  /** Exposes the bytes in flight and the budget on GET /metrics. */
  watch(registry: MetricsRegistry): void {
    const inFlight = registry.gauge({ name: "gafka_request_body_bytes_in_flight", help: "Request-body bytes the broker holds now, all requests together." });
    const budget = registry.gauge({ name: "gafka_request_body_bytes_in_flight_max", help: "The budget for request-body bytes in flight (--request-bytes-in-flight-max)." });
    registry.onCollect(() => {
      inFlight.set(this.inFlightBytes);
      budget.set(this.bytesMax);
    });
  }

  /**
   * Runs a request's handler with a lease on the budget, which readBinaryBody
   * (src/http/request.ts) draws on; everything it drew is released when the
   * handler ends, however it ends.
   */
  async during<T>(request: Request, handle: () => Promise<T> | T): Promise<T> {
    const lease = new BodyLease(this);
    leases.set(request, lease);
    try {
      return await handle();
    } finally {
      lease.release();
    }
  }

  /** Takes `bytes` more for a body that will then hold `bodyBytes`, or throws 503 server_busy. */
  take(bytes: number, bodyBytes: number): void {
    const room = bodyBytes > limits.requestBodySmallBytesMax ? this.largeBodiesBytesMax : this.bytesMax;
    if (this.inFlightBytes + bytes > room) {
      throw new GafkaError("server_busy", `the broker holds ${this.inFlightBytes} bytes of request bodies and has no room for ${bytes} more now; retry later`, {
        retriable: true,
        details: { bytes_in_flight_max: this.bytesMax },
      });
    }
    this.inFlightBytes += bytes;
  }

  give(bytes: number): void {
    this.inFlightBytes -= bytes;
  }
}

/** One request's share of the budget: what its body has taken so far. */
export class BodyLease {
  private heldBytes = 0;
  private released = false;

  constructor(private readonly budget: RequestBodyBudget) {}

  /** Counts `bytes` more of this request's body, or throws 503 server_busy (nothing is taken then). */
  reserve(bytes: number): void {
    assert(!this.released, "a request's body was read after its handler ended");
    this.budget.take(bytes, this.heldBytes + bytes);
    this.heldBytes += bytes;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.give(this.heldBytes);
    this.heldBytes = 0;
  }
}
