import { GafkaError } from "../core/errors.ts";

/**
 * A group answer held by the coordinator (JoinGroup, SyncGroup), or a
 * `shutting_down` failure as soon as the connection's signal aborts: the
 * listener is stopping (or the client went away), and a stop must not wait
 * out a rebalance timeout of minutes. A Kafka client answered so asks
 * FindCoordinator again and rejoins wherever the coordinator is then.
 */
export function untilAborted<T>(held: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(stopping());
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(stopping());
    signal.addEventListener("abort", abort, { once: true });
    held.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

function stopping(): GafkaError {
  return new GafkaError("shutting_down", "the broker is stopping: the group's coordinator is going away", { retriable: true });
}
