/**
 * The ceiling of this machine for bench/wrk.sh: a bare Bun.serve with no
 * gafka code, answering the same POST the wrk scenario sends.
 *   bun bench/hello-server.ts hello   answers "hello" without reading the body
 *   bun bench/hello-server.ts echo    parses the JSON body and answers a produce-sized JSON object
 * Prints `listening on http://127.0.0.1:PORT` (a free port) and serves until killed.
 */
const mode = process.argv[2] ?? "hello";
if (mode !== "hello" && mode !== "echo") {
  console.error("usage: bun bench/hello-server.ts hello|echo");
  process.exit(2);
}

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  development: false,
  fetch:
    mode === "hello"
      ? () => new Response("hello")
      : async (request) => {
          const body = (await request.json()) as { topic: string };
          return Response.json({ topic: body.topic, partition: 0, offset: 0, timestamp: Date.now() });
        },
});
console.log(`listening on http://127.0.0.1:${server.port}`);
