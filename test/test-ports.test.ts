import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { reserveTestPort } from "./helpers/test-ports.ts";

/** The ports test brokers listen on: a broker restarted on its port must find it still its own. */

const ephemeralStart = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);

test("reserved ports are distinct, below the ephemeral range, and a broker can listen on them", async () => {
  const ports: number[] = [];
  for (let i = 0; i < 20; i++) ports.push(await reserveTestPort());
  expect(new Set(ports).size).toBe(ports.length);
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(1024);
    expect(port).toBeLessThan(ephemeralStart);
    const server = Bun.serve({ hostname: "127.0.0.1", port, reusePort: false, fetch: () => new Response("mine") });
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("mine");
    await server.stop(true);
  }
});

test("another process cannot reserve a port this run holds", async () => {
  const port = await reserveTestPort();
  // What another test run's reserveTestPort tries first: hold the port's number over UDP.
  const other = Bun.spawn(
    [
      process.execPath,
      "-e",
      `const socket = require("node:dgram").createSocket("udp4");
       socket.once("error", (error) => { console.log(error.code); process.exit(0); });
       socket.bind(${port}, "127.0.0.1", () => { console.log("bound"); process.exit(0); });`,
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  const said = (await new Response(other.stdout).text()).trim();
  expect(await other.exited).toBe(0);
  expect(said).toBe("EADDRINUSE");
});
