import { expect, test } from "bun:test";
import * as path from "node:path";

const repoRoot = path.resolve(import.meta.dir, "..");

test("bench/failover-drill.ts: kill -9 of the leader under acks=all load loses no acknowledged record, and the old leader rejoins", async () => {
  const child = Bun.spawn([process.execPath, "bench/failover-drill.ts", "--json", "--before=1000", "--after=300"], {
    cwd: repoRoot,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (exitCode !== 0) throw new Error(`the drill exited ${exitCode}\nstdout:\n${stdout}\nstderr:\n${stderr.slice(-4000)}`);
  const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
  expect(result.lost).toBe(0);
  expect(result.duplicates).toBe(0);
  expect(result.ackedBeforeKill).toBeGreaterThanOrEqual(1000);
  expect(result.ackedAfterPromotion).toBeGreaterThanOrEqual(300);
  // Reported, not judged: the suite checks correctness, not time.
  expect(Number.isFinite(result.killToFirstProduceMs)).toBe(true);
  expect(Number.isFinite(result.oldLeaderCaughtUpAfterRestartMs)).toBe(true);
});
