import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { SocketFetch } from "./socket-fetch.ts";

/** A Bun.serve that echoes what it got, answers long polls never, and says how a request looked. */
let server: ReturnType<typeof Bun.serve>;
let base: string;

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    development: false,
    fetch: async (request) => {
      const url = new URL(request.url);
      if (url.pathname === "/echo") {
        const body = new Uint8Array(await request.arrayBuffer());
        return new Response(body, {
          headers: { "content-type": request.headers.get("content-type") ?? "none", "x-method": request.method, "x-length": String(body.length) },
        });
      }
      if (url.pathname === "/json") return Response.json({ path: url.pathname, query: url.search, host: request.headers.get("host") });
      if (url.pathname === "/stream") {
        return new Response(
          new ReadableStream({
            async start(controller) {
              controller.enqueue(new TextEncoder().encode("first,"));
              await Bun.sleep(5);
              controller.enqueue(new TextEncoder().encode("second"));
              controller.close();
            },
          }),
        );
      }
      if (url.pathname === "/empty") return new Response(null, { status: 204 });
      if (url.pathname === "/large") return Response.json({ filler: "x".repeat(4 * 1024 * 1024) });
      if (url.pathname === "/never") return new Promise<Response>(() => {});
      return Response.json({ error: { code: "not_found", message: "no" } }, { status: 404 });
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(() => server.stop(true));

const transports: SocketFetch[] = [];
function transport(options?: ConstructorParameters<typeof SocketFetch>[0]): SocketFetch {
  const made = new SocketFetch(options);
  transports.push(made);
  return made;
}
afterEach(() => {
  for (const made of transports.splice(0)) made.close();
});

/** A raw TCP server that answers each request with the bytes `answer` gives, to try answers Bun.serve never sends. */
async function rawServer(answer: (request: string, socket: Bun.Socket<{ got: string }>) => void): Promise<{ url: string; connections: () => number; stop(): void }> {
  let connections = 0;
  const listener = Bun.listen<{ got: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        connections++;
        socket.data = { got: "" };
      },
      data(socket, data) {
        socket.data.got += new TextDecoder().decode(data);
        const end = socket.data.got.indexOf("\r\n\r\n");
        if (end === -1) return;
        const request = socket.data.got.slice(0, end);
        socket.data.got = socket.data.got.slice(end + 4);
        answer(request, socket);
      },
    },
  });
  return { url: `http://127.0.0.1:${listener.port}`, connections: () => connections, stop: () => listener.stop(true) };
}

describe("SocketFetch", () => {
  test("sends method, headers and a string or byte body, and reads status, headers and body", async () => {
    const { fetch } = transport();
    const text = await fetch(`${base}/echo`, { method: "POST", headers: { "content-type": "text/plain" }, body: "héllo" });
    expect(text.status).toBe(200);
    expect(text.ok).toBe(true);
    expect(text.headers.get("X-Method")).toBe("POST");
    expect(text.headers.get("content-type")).toBe("text/plain");
    expect(text.headers.get("x-length")).toBe(String(new TextEncoder().encode("héllo").length));
    expect(await text.text()).toBe("héllo");

    const bytes = new Uint8Array([0, 1, 2, 255, 13, 10, 13, 10]);
    const binary = await fetch(`${base}/echo`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: bytes });
    expect(new Uint8Array(await binary.arrayBuffer())).toEqual(bytes);

    const json = await fetch(`${base}/json?a=1&b=%C3%A9`, { method: "GET" });
    expect(JSON.parse(await json.text())).toEqual({ path: "/json", query: "?a=1&b=%C3%A9", host: `127.0.0.1:${server.port}` });

    const missing = await fetch(`${base}/nowhere`, { method: "GET" });
    expect(missing.status).toBe(404);
    expect(missing.ok).toBe(false);
    expect(missing.headers.get("x-absent")).toBeNull();
  });

  test("reads answers of megabytes over its socket, and hands request bodies of 64 KiB or more to fetch", async () => {
    const client = transport();
    const patterned = (length: number) => {
      const bytes = new Uint8Array(length);
      for (let i = 0; i < length; i++) bytes[i] = (i * 31) & 0xff;
      return bytes;
    };
    const justBelow = patterned(64 * 1024 - 1);
    const echoed = new Uint8Array(await (await client.fetch(`${base}/echo`, { method: "POST", body: justBelow })).arrayBuffer());
    expect(Bun.hash.crc32(echoed)).toBe(Bun.hash.crc32(justBelow));
    expect(client.idleConnections).toBe(1); // it went over the transport's own connection

    const big = patterned(3 * 1024 * 1024 + 17);
    const answer = await client.fetch(`${base}/echo`, { method: "POST", body: big });
    const got = new Uint8Array(await answer.arrayBuffer());
    expect(got.length).toBe(big.length);
    expect(Bun.hash.crc32(got)).toBe(Bun.hash.crc32(big));
    expect(client.idleConnections).toBe(1); // fetch carried it; its own connection stayed idle

    // A large answer to a small request is read off the socket in many pieces.
    const large = JSON.parse(await (await client.fetch(`${base}/large`, {})).text()) as { filler: string };
    expect(large.filler.length).toBe(4 * 1024 * 1024);
    expect(client.idleConnections).toBe(1);
  });

  test("reuses one keep-alive connection for requests one after another", async () => {
    const raw = await rawServer((_request, socket) => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    try {
      const client = transport();
      for (let i = 0; i < 5; i++) expect(await (await client.fetch(`${raw.url}/x`, {})).text()).toBe("ok");
      expect(raw.connections()).toBe(1);
      expect(client.idleConnections).toBe(1);
      // Side by side, each request has a connection of its own.
      const answers = await Promise.all([1, 2, 3].map(() => client.fetch(`${raw.url}/x`, {}).then((r) => r.text())));
      expect(answers).toEqual(["ok", "ok", "ok"]);
      expect(raw.connections()).toBe(3);
    } finally {
      raw.stop();
    }
  });

  test("reads chunked answers, answers without a body, and answers framed by the connection's end", async () => {
    const { fetch } = transport();
    expect(await (await fetch(`${base}/stream`, {})).text()).toBe("first,second");
    const empty = await fetch(`${base}/empty`, {});
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe("");

    const raw = await rawServer((request, socket) => {
      if (request.startsWith("GET /split")) {
        // A chunked answer cut at awkward places, with an interim 100 first and a trailer at the end.
        const parts = ["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nX-A: 2\r\n", "\r\n5\r\nhel", "lo\r\n6;ext=1\r\n worl", "d\r\n0\r\nTrailer: x\r\n\r\n"];
        let at = 0;
        const next = () => {
          socket.write(parts[at++]!);
          if (at < parts.length) setTimeout(next, 2);
        };
        next();
      } else {
        socket.write("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
        socket.end();
      }
    });
    try {
      const split = await fetch(`${raw.url}/split`, {});
      expect(split.status).toBe(201);
      expect(split.headers.get("x-a")).toBe("1, 2");
      expect(await split.text()).toBe("hello world");
      expect(await (await fetch(`${raw.url}/close`, {})).text()).toBe("until the end");
    } finally {
      raw.stop();
    }
  });

  test("a refused connection rejects with ECONNREFUSED", async () => {
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = closed.port;
    closed.stop(true);
    const error = await transport()
      .fetch(`http://127.0.0.1:${port}/x`, {})
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect((error as { code?: string }).code).toBe("ECONNREFUSED");
  });

  test("a connection lost before the answer ends, or a garbled answer, rejects and is not reused", async () => {
    const raw = await rawServer((request, socket) => {
      if (request.startsWith("GET /cut")) {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        socket.end();
      } else {
        socket.write("SMTP ready\r\n\r\n");
      }
    });
    try {
      const client = transport();
      const cut = await client.fetch(`${raw.url}/cut`, {}).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect((cut as { code?: string }).code).toBe("ECONNRESET");
      const garbled = await client.fetch(`${raw.url}/garbled`, {}).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect((garbled as { code?: string; message: string }).code).toBe("EPROTO");
      expect(client.idleConnections).toBe(0);
    } finally {
      raw.stop();
    }
  });

  test("an answer with bytes after it closes its connection instead of reusing it", async () => {
    const raw = await rawServer((_request, socket) => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"));
    try {
      const client = transport();
      expect(await (await client.fetch(`${raw.url}/x`, {})).text()).toBe("ok");
      expect(await (await client.fetch(`${raw.url}/x`, {})).text()).toBe("ok");
      expect(raw.connections()).toBe(2);
    } finally {
      raw.stop();
    }
  });

  test("an abort rejects with the signal's reason and closes the connection", async () => {
    const client = transport();
    const controller = new AbortController();
    const pending = client.fetch(`${base}/never`, { signal: controller.signal });
    await Bun.sleep(20);
    controller.abort(new DOMException("gave up", "TimeoutError"));
    const error = await pending.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect((error as DOMException).name).toBe("TimeoutError");
    expect(client.idleConnections).toBe(0);
    // Already aborted: nothing is sent.
    const early = await client.fetch(`${base}/json`, { signal: AbortSignal.abort() }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect((early as DOMException).name).toBe("AbortError");
    // The transport still works.
    expect((await client.fetch(`${base}/json`, {})).status).toBe(200);
  });

  test("closes connections idle longer than idleMs", async () => {
    const client = transport({ idleMs: 20 });
    await (await client.fetch(`${base}/json`, {})).text();
    expect(client.idleConnections).toBe(1);
    for (let i = 0; i < 200 && client.idleConnections > 0; i++) await Bun.sleep(10);
    expect(client.idleConnections).toBe(0);
    expect((await client.fetch(`${base}/json`, {})).status).toBe(200);
  });

  test("percent-encodes a request target that is not ASCII, and refuses line breaks in headers", async () => {
    const { fetch } = transport();
    const answer = JSON.parse(await (await fetch(`${base}/json?name=é x`, {})).text()) as { query: string };
    expect(answer.query).toBe("?name=%C3%A9%20x");
    expect(() => fetch(`${base}/json`, { headers: { "x-evil": "a\r\nx-injected: 1" } })).toThrow(TypeError);
  });
});
