/**
 * The ceilings of this machine for bench/wrk.sh: a bare Bun.serve with no
 * gafka code, answering the same POST the wrk scenario sends.
 *   bun bench/hello-server.ts hello     answers "hello" without reading the body
 *   bun bench/hello-server.ts echo      parses the JSON body and answers a produce-sized JSON object
 *   bun bench/hello-server.ts durable   as echo, but first appends the value to one of two files (by
 *                                       key) and waits for its fdatasync, with group commit
 *                                       (bench/group-commit-file.ts): the least a durable produce costs
 * Prints `listening on http://127.0.0.1:PORT` (a free port) and serves until killed.
 */
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { GroupCommitFile } from "./group-commit-file.ts";

const mode = process.argv[2] ?? "hello";
if (mode !== "hello" && mode !== "echo" && mode !== "durable") {
  console.error("usage: bun bench/hello-server.ts hello|echo|durable");
  process.exit(2);
}

interface ProduceBody {
  topic: string;
  key?: string;
  value: string;
}

function durableProduce(): (request: Request) => Promise<Response> {
  const dir = mkdtempSync(path.join(tmpdir(), "gafka-durable-hello-"));
  process.on("SIGTERM", () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
  const files = [0, 1].map((partition) => new GroupCommitFile(openSync(path.join(dir, `p${partition}.log`), "w+")));
  const encoder = new TextEncoder();
  const offsets = [0, 0];
  return async (request) => {
    const body = (await request.json()) as ProduceBody;
    const partition = Bun.hash.crc32(body.key ?? "") & 1;
    const offset = offsets[partition]!++;
    await files[partition]!.append(encoder.encode(body.value));
    return Response.json({ topic: body.topic, partition, offset, timestamp: Date.now() });
  };
}

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  development: false,
  fetch:
    mode === "hello"
      ? () => new Response("hello")
      : mode === "echo"
        ? async (request) => {
            const body = (await request.json()) as ProduceBody;
            return Response.json({ topic: body.topic, partition: 0, offset: 0, timestamp: Date.now() });
          }
        : durableProduce(),
});
console.log(`listening on http://127.0.0.1:${server.port}`);
