import { afterEach, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { startDelayProxy, type DelayProxy } from "./delay-proxy.ts";
import { waitFor } from "../http.ts";

let echo: TCPSocketListener<undefined> | undefined;
let proxy: DelayProxy | undefined;

afterEach(() => {
  proxy?.close();
  echo?.stop(true);
});

/** An echo server and a client through the proxy; returns the client and what it has received. */
async function echoThroughProxy(delayMs: number) {
  echo = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (socket, bytes) => void socket.write(bytes) } });
  proxy = await startDelayProxy({ targetHost: "127.0.0.1", targetPort: echo.port, delayMs });
  let received = "";
  const client = await Bun.connect({
    hostname: "127.0.0.1",
    port: proxy.port,
    socket: {
      data: (_socket, bytes) => {
        received += new TextDecoder().decode(bytes);
      },
    },
  });
  return { client, received: () => received };
}

test("bytes pass both ways, in order, no sooner than the delay each way", async () => {
  const { client, received } = await echoThroughProxy(100);
  const sentAtMs = performance.now();
  for (let i = 0; i < 50; i++) client.write(`${i},`);
  await waitFor(() => received().split(",").length > 50, "the echo");
  // A lower bound only: a busy machine can make it later, never sooner.
  expect(performance.now() - sentAtMs).toBeGreaterThanOrEqual(200);
  expect(received()).toBe(Array.from({ length: 50 }, (_, i) => `${i},`).join(""));
  client.end();
});

test("a cut holds everything until it heals; then it all arrives in order", async () => {
  const { client, received } = await echoThroughProxy(0);
  client.write("before,");
  await waitFor(() => received() === "before,", "the first echo");
  proxy!.cut();
  client.write("during-1,");
  client.write("during-2,");
  await Bun.sleep(300);
  expect(received()).toBe("before,");
  proxy!.heal();
  await waitFor(() => received() === "before,during-1,during-2,", "the held bytes after the heal");
  client.end();
});

test("a connection opened during a cut gets through once it heals", async () => {
  echo = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (socket, bytes) => void socket.write(bytes) } });
  proxy = await startDelayProxy({ targetHost: "127.0.0.1", targetPort: echo.port });
  proxy.cut();
  let received = "";
  const client = await Bun.connect({
    hostname: "127.0.0.1",
    port: proxy.port,
    socket: {
      data: (_s, b) => {
        received += new TextDecoder().decode(b);
      },
    },
  });
  client.write("hello");
  await Bun.sleep(200);
  expect(received).toBe("");
  proxy.heal();
  await waitFor(() => received === "hello", "the echo after the heal");
  client.end();
});

test("HTTP through the proxy works (the brokers' protocol)", async () => {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("pong") });
  try {
    proxy = await startDelayProxy({ targetHost: "127.0.0.1", targetPort: server.port!, delayMs: 20 });
    expect(await (await fetch(`http://${proxy.hostPort}/`)).text()).toBe("pong");
  } finally {
    server.stop(true);
  }
});
