/** A run's progress, handed to `onProgress` about once a second while it runs. */
export interface BenchProgress {
  mode: "produce" | "consume" | "e2e";
  elapsedMs: number;
  /** Messages done so far: acknowledged (produce) or received (consume, e2e). */
  messages: number;
  /** Messages sent so far (produce, e2e). */
  sent?: number;
  /** Messages done per second over the last interval. */
  ratePerSecond: number;
  errors: number;
}

export type ProgressListener = (progress: BenchProgress) => void;

export const PROGRESS_INTERVAL_MS = 1000;

/**
 * Calls `listener` every `intervalMs` with the counts `read` gives; returns
 * the function that stops it. Without a listener it does nothing.
 */
export function reportProgress(
  listener: ProgressListener | undefined,
  read: () => Omit<BenchProgress, "elapsedMs" | "ratePerSecond">,
  startedMs: number,
  intervalMs = PROGRESS_INTERVAL_MS,
): () => void {
  if (listener === undefined) return () => {};
  let lastMs = startedMs;
  let lastMessages = 0;
  const timer = setInterval(() => {
    const nowMs = performance.now();
    const counts = read();
    const ratePerSecond = ((counts.messages - lastMessages) * 1000) / Math.max(1, nowMs - lastMs);
    lastMs = nowMs;
    lastMessages = counts.messages;
    listener({ ...counts, elapsedMs: nowMs - startedMs, ratePerSecond });
  }, intervalMs);
  return () => clearInterval(timer);
}
