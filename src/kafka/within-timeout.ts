import type { Clock } from "../core/clock.ts";

/**
 * The results of `work` in order, each one that has not settled within
 * `timeoutMs` replaced by `late(index)` (the work goes on: Kafka's answer
 * to a create slower than the request's timeout). A timeout of 0 or less
 * waits for all: creation here is synchronous and quick.
 */
export async function withinTimeout<T>(clock: Clock, timeoutMs: number, work: Promise<T>[], late: (index: number) => T): Promise<T[]> {
  if (timeoutMs <= 0 || work.length === 0) return Promise.all(work);
  const results: (T | undefined)[] = work.map(() => undefined);
  const settled = work.map((promise, index) =>
    promise.then((result) => {
      results[index] = result;
    }),
  );
  let timer: { cancel(): void } | undefined;
  const expired = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, timeoutMs)));
  await Promise.race([Promise.all(settled), expired]);
  timer?.cancel();
  return results.map((result, index) => result ?? late(index));
}
