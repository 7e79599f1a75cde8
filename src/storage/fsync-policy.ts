/**
 * When the log's bytes reach stable storage (`--fsync`):
 * - always: a produce is acknowledged only after fdatasync covers it; concurrent
 *   appends share one fdatasync (group commit). Nothing acknowledged is lost on
 *   a crash or power loss.
 * - interval:<ms>: acknowledged once written to the OS; fdatasync every <ms>.
 *   A power loss (not a process crash) can lose up to <ms> of acknowledged writes.
 * - never: acknowledged once written to the OS; the OS flushes when it likes.
 *   A power loss can lose any amount of acknowledged writes.
 */
export type FsyncPolicy = { kind: "always" } | { kind: "interval"; intervalMs: number } | { kind: "never" };

export function parseFsyncPolicy(text: string): FsyncPolicy | undefined {
  if (text === "always") return { kind: "always" };
  if (text === "never") return { kind: "never" };
  const match = /^interval:(\d+)(ms)?$/.exec(text);
  if (match) {
    const intervalMs = Number(match[1]);
    if (intervalMs >= 1) return { kind: "interval", intervalMs };
  }
  return undefined;
}

export function formatFsyncPolicy(policy: FsyncPolicy): string {
  return policy.kind === "interval" ? `interval:${policy.intervalMs}` : policy.kind;
}
