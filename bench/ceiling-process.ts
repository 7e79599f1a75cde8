/**
 * What the ceiling benchmarks (bench/rtt-ceiling.ts, bench/durable-ceiling.ts,
 * bench/kafka-durable-ceiling.ts) share: a `--name=value` option, and their
 * server run as a process of its own, whose first line names its address.
 */

/** The value of `--name=value` among the script's arguments, or the fallback. */
export function option(name: string, fallback: string): string {
  const given = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  return given === undefined ? fallback : given.slice(name.length + 3);
}

/** Starts the script with `args` and waits for its `… listening on ADDRESS` line: the address (`http://host:port` or `host:port`) and the process. */
export async function spawnServer(scriptPath: string, args: string[]): Promise<{ address: string; server: Bun.Subprocess<"ignore", "pipe", "inherit"> }> {
  const server = Bun.spawn([process.execPath, scriptPath, ...args], { stdout: "pipe", stderr: "inherit" });
  const reader = server.stdout.getReader();
  let printed = "";
  while (!printed.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) {
      server.kill();
      throw new Error("the server exited before listening");
    }
    printed += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const address = /listening on (\S+)/.exec(printed)?.[1];
  if (address === undefined) {
    server.kill();
    throw new Error(`the server printed no address: ${printed.trim()}`);
  }
  return { address, server };
}
