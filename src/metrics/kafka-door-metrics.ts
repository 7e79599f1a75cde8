import type { Clock } from "../core/clock.ts";
import type { Counter, CounterChild } from "./counter.ts";
import type { Histogram, HistogramChild } from "./histogram.ts";
import type { MetricsRegistry } from "./registry.ts";

/** Kafka requests take from 100 µs (Metadata) to a Fetch's whole long poll (its max wait, 30 s at most here). */
const KAFKA_REQUEST_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The `api` label of requests for an API or version the door does not serve (the connection is closed). */
export const UNSERVED_API = "unserved";

/**
 * The Kafka door's series (docs/operations.md "Metrics"): requests by API
 * and Kafka error code, their durations by API, the bytes read and written
 * on its connections, and its open connections (read at scrape time). The
 * door (src/kafka) reports into it; run-broker.ts hands it over. Labels
 * stay bounded: API names are those the door serves (resolved once, at
 * start), plus `unserved`; error codes are Kafka's, which the door takes
 * from its one table, plus `closed` for a request answered by closing.
 */
export class KafkaDoorMetrics {
  private readonly requests: Counter;
  private readonly duration: Histogram;
  private readonly bytesReceived: CounterChild;
  private readonly bytesSent: CounterChild;

  constructor(
    private readonly registry: MetricsRegistry,
    readonly clock: Clock,
  ) {
    this.requests = registry.counter({
      name: "gafka_kafka_requests_total",
      help: "Kafka requests answered, by API and error code (the first non-zero one in the answer, 0 for none, `closed` when the connection was closed instead).",
      labelNames: ["api", "error_code"],
    });
    this.duration = registry.histogram({
      name: "gafka_kafka_request_duration_seconds",
      help: "Time from a Kafka request's turn on its connection to its answer (a Fetch's long poll included), by API.",
      labelNames: ["api"],
      buckets: KAFKA_REQUEST_SECONDS_BUCKETS,
    });
    this.bytesReceived = registry
      .counter({ name: "gafka_kafka_bytes_received_total", help: "Bytes read from Kafka clients' connections (size prefixes included)." })
      .labels();
    this.bytesSent = registry.counter({ name: "gafka_kafka_bytes_sent_total", help: "Bytes written to Kafka clients' connections." }).labels();
  }

  /** The instrument of one API (Kafka's name: `Produce`); call once per API, at start. */
  api(name: string): KafkaApiInstrument {
    return new KafkaApiInstrument(this.requests, this.duration.labels(name), name, this.clock);
  }

  readonly received = (bytes: number): void => this.bytesReceived.inc(bytes);

  readonly sent = (bytes: number): void => this.bytesSent.inc(bytes);

  /** Open Kafka connections, read from the listener at each scrape. */
  watchConnections(connectionCount: () => number): void {
    const gauge = this.registry.gauge({ name: "gafka_kafka_connections", help: "Kafka client connections open now." });
    this.registry.onCollect(() => gauge.set(connectionCount()));
  }
}

/** One API's counter and histogram, resolved at start so a request costs a clock read, a small map lookup and two increments. */
export class KafkaApiInstrument {
  private readonly counterByErrorCode = new Map<number | "closed", CounterChild>();

  constructor(
    private readonly requests: Counter,
    private readonly duration: HistogramChild,
    private readonly api: string,
    private readonly clock: Clock,
  ) {}

  /** The clock reading answered() takes. */
  started(): number {
    return this.clock.monotonicMs();
  }

  /** Counts one request ended with `errorCode`, begun at `startedMs` (from started()). */
  answered(errorCode: number | "closed", startedMs: number): void {
    let counter = this.counterByErrorCode.get(errorCode);
    if (counter === undefined) {
      counter = this.requests.labels(this.api, String(errorCode));
      this.counterByErrorCode.set(errorCode, counter);
    }
    counter.inc();
    this.duration.observe((this.clock.monotonicMs() - startedMs) / 1000);
  }
}
