import { expect, test } from "bun:test";
import { untilAborted } from "./until-aborted.ts";

test("a held answer comes through; an abort ends the wait with shutting_down, before or during it", async () => {
  expect(await untilAborted(Promise.resolve(7), new AbortController().signal)).toBe(7);
  const aborter = new AbortController();
  const never = new Promise<number>(() => {});
  const waiting = untilAborted(never, aborter.signal);
  aborter.abort();
  await expect(waiting).rejects.toMatchObject({ code: "shutting_down" });
  await expect(untilAborted(never, aborter.signal)).rejects.toMatchObject({ code: "shutting_down" });
  await expect(untilAborted(Promise.reject(new Error("refused")), new AbortController().signal)).rejects.toThrow("refused");
});
