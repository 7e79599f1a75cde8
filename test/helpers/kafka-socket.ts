/**
 * A raw TCP client for the Kafka listener's tests: writes bytes as given,
 * collects what comes back, and reports when the broker closes the socket.
 */
import type { Socket } from "bun";

export interface RawKafkaSocket {
  write(bytes: Uint8Array): void;
  /** Resolves with the next `count` size-prefixed answers (prefixes removed); rejects after `waitMs` or if the socket closes first. */
  answers(count: number, waitMs?: number): Promise<Uint8Array[]>;
  /** Resolves once the broker has closed the connection (rejects after `waitMs`). */
  closed(waitMs?: number): Promise<void>;
  end(): void;
}

export async function connectRaw(port: number, host = "127.0.0.1"): Promise<RawKafkaSocket> {
  let received = new Uint8Array(0);
  let isClosed = false;
  let wake = () => {};
  const socket: Socket = await Bun.connect({
    hostname: host,
    port,
    socket: {
      data(_socket, chunk) {
        const joined = new Uint8Array(received.length + chunk.length);
        joined.set(received, 0);
        joined.set(chunk, received.length);
        received = joined;
        wake();
      },
      close() {
        isClosed = true;
        wake();
      },
      error() {
        isClosed = true;
        wake();
      },
    },
  });
  const takeFrame = (): Uint8Array | undefined => {
    if (received.length < 4) return undefined;
    const size = new DataView(received.buffer, received.byteOffset, 4).getInt32(0);
    if (received.length < 4 + size) return undefined;
    const frame = received.slice(4, 4 + size);
    received = received.slice(4 + size);
    return frame;
  };
  const waitFor = async <T>(done: () => T | undefined, what: string, waitMs: number): Promise<T> => {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const value = done();
      if (value !== undefined) return value;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  return {
    write: (bytes) => void socket.write(bytes),
    async answers(count, waitMs = 10_000) {
      const frames: Uint8Array[] = [];
      await waitFor(
        () => {
          for (let frame = takeFrame(); frame !== undefined; frame = takeFrame()) frames.push(frame);
          if (frames.length >= count) return true;
          if (isClosed) throw new Error(`socket closed after ${frames.length} of ${count} answers`);
          return undefined;
        },
        `${count} answers`,
        waitMs,
      );
      return frames;
    },
    async closed(waitMs = 10_000) {
      await waitFor(() => (isClosed ? true : undefined), "the broker to close the connection", waitMs);
    },
    end: () => socket.end(),
  };
}

/** A request's bytes behind their 4-byte size prefix. */
export function framed(request: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + request.length);
  new DataView(bytes.buffer).setInt32(0, request.length);
  bytes.set(request, 4);
  return bytes;
}
