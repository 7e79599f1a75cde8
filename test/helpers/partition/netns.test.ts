import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { createNetnsPair, netnsSupport, type NetnsPair } from "./netns.ts";

const support = netnsSupport();
if (!support.ok) console.warn(`netns.test.ts: skipped: ${support.reason}`);

/** Runs a tiny HTTP fetch from inside a namespace; true when it was answered. */
function fetchFrom(pair: NetnsPair, side: "a" | "b", url: string): boolean {
  const script = `try { await fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(1500) }); process.exit(0) } catch { process.exit(1) }`;
  const [program, ...args] = pair.command(pair[side], [process.execPath, "-e", script]);
  return spawnSync(program!, args).status === 0;
}

describe.skipIf(!support.ok)("a namespace pair", () => {
  let pair: NetnsPair | undefined;
  let server: ReturnType<typeof Bun.spawn> | undefined;
  afterAll(() => {
    server?.kill("SIGKILL");
    pair?.cleanup();
  });

  test("each side reaches the other over the link until it is cut; the root reaches both throughout; cleanup removes it all", async () => {
    pair = createNetnsPair();
    const serve = `Bun.serve({ hostname: "0.0.0.0", port: 8080, fetch: () => new Response("ok") }); console.log("up")`;
    const child = Bun.spawn(pair.command(pair.a, [process.execPath, "-e", serve]), { stdout: "pipe", stderr: "inherit" });
    server = child;
    const reader = child.stdout.getReader();
    await reader.read(); // "up"
    const fromB = `http://${pair.a.linkAddress}:8080/`;
    const fromRoot = `http://${pair.a.rootAddress}:8080/`;
    expect(fetchFrom(pair, "b", fromB)).toBe(true);
    expect(await (await fetch(fromRoot)).text()).toBe("ok");
    // B cannot reach A's root-facing address: the only way between them is the A–B link.
    expect(fetchFrom(pair, "b", fromRoot)).toBe(false);

    pair.cut();
    expect(fetchFrom(pair, "b", fromB)).toBe(false);
    expect(await (await fetch(fromRoot)).text()).toBe("ok");
    pair.heal();
    expect(fetchFrom(pair, "b", fromB)).toBe(true);

    server.kill("SIGKILL");
    await server.exited;
    const names = [pair.a.ns, pair.b.ns];
    pair.cleanup();
    const listed = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;
    for (const ns of names) expect(listed).not.toContain(ns);
    expect(spawnSync("ip", ["-o", "link"], { encoding: "utf8" }).stdout).not.toContain(`g${process.pid}-`);
  });
});
