/**
 * The durable latency ceiling of this machine for P3: the least a consumer
 * group pipeline with gafka's guarantees can take here, written with no gafka
 * code. A server process (Bun.serve) keeps 2 partitions as append-only files
 * and a consumer's offsets in a third; a produce is answered once its bytes
 * are fdatasync'ed (group commit: one fdatasync at a time per file, the
 * writes that arrive meanwhile share the next), and a consume first makes the
 * offsets it carries durable (its implicit commit, one fdatasync shared by
 * concurrent commits) and long-polls both partitions at once. The client
 * process paces 1 KB messages as `gafka bench e2e` does (Bun.sleep), keeps
 * one produce in flight per partition (what piled up meanwhile goes in the
 * next), and one consume in flight. Records are kept in memory on the server
 * after their fdatasync, so reads cost nothing; the only work is HTTP, the
 * writes and the fdatasyncs.
 *
 *   bun bench/durable-ceiling.ts [--rate=5000] [--seconds=8] [--fsync=always|never] [--commit=yes|no] [--in-flight=1] [--client=socket|fetch]
 *
 * `--fsync=never` drops both fdatasyncs and `--commit=no` the commit, to see
 * each one's share. `--in-flight=N` lets the producer have N requests in
 * flight per partition (on separate connections, so the server may take
 * them out of order: a measure of what ordered pipelining would buy, not a
 * design). `--client` picks the client's HTTP: `socket` (the default, since
 * session 5) sends over keep-alive sockets as the SDK does
 * (src/client/socket-fetch.ts, a plain HTTP/1.1 client: nothing of gafka's
 * log, groups or formats), `fetch` through Bun's fetch, as the ceiling did
 * before. Prints send→receipt and send→acknowledgement percentiles after a
 * 1 s warm-up.
 */
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { option, spawnServer } from "./ceiling-process.ts";
import { SocketFetch } from "../src/client/socket-fetch.ts";
import { GroupCommitFile } from "./group-commit-file.ts";

const SERVER_FLAG = "--serve";
const WARM_UP_MS = 1000;
const MESSAGE_BYTES = 1024;
const PARTITIONS = 2;
const POLL_WAIT_MS = 500;

function serve(): void {
  const dir = mkdtempSync(path.join(tmpdir(), "gafka-durable-ceiling-"));
  const sync = option("fsync", "always") === "always";
  const logs = Array.from({ length: PARTITIONS }, (_, partition) => new GroupCommitFile(openSync(path.join(dir, `p${partition}.log`), "w+"), sync));
  const offsets = new GroupCommitFile(openSync(path.join(dir, "offsets.log"), "w+"), sync);
  /** Durable messages per partition, in offset order. */
  const durable: Uint8Array[][] = Array.from({ length: PARTITIONS }, () => []);
  let pollWaiters: (() => void)[] = [];
  const wake = () => {
    const waiters = pollWaiters;
    pollWaiters = [];
    for (const resolve of waiters) resolve();
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    development: false,
    idleTimeout: 30,
    routes: {
      "/produce/:partition": {
        POST: async (request) => {
          const partition = Number(request.params.partition);
          const body = new Uint8Array(await request.arrayBuffer());
          await logs[partition]!.append(body);
          const list = durable[partition]!;
          const base = list.length;
          for (let at = 0; at < body.length; at += MESSAGE_BYTES) list.push(body.subarray(at, at + MESSAGE_BYTES));
          wake();
          return Response.json({ base });
        },
      },
      "/consume": {
        GET: async (request) => {
          const query = new URL(request.url).searchParams;
          const from = Array.from({ length: PARTITIONS }, (_, partition) => Number(query.get(`o${partition}`)));
          const committing = query.get("commit") === "yes" ? offsets.append(new Uint8Array(new Float64Array(from).buffer)) : undefined;
          const available = () => from.some((offset, partition) => durable[partition]!.length > offset);
          if (!available()) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, POLL_WAIT_MS);
              pollWaiters.push(() => {
                clearTimeout(timer);
                resolve();
              });
            });
          }
          await committing;
          const counts = new Uint32Array(PARTITIONS);
          const parts: Uint8Array[] = [];
          for (let partition = 0; partition < PARTITIONS; partition++) {
            const list = durable[partition]!;
            for (let offset = from[partition]!; offset < list.length; offset++) parts.push(list[offset]!);
            counts[partition] = Math.max(0, list.length - from[partition]!);
          }
          return new Response(new Blob([counts, ...parts]));
        },
      },
    },
    fetch: () => new Response("not found", { status: 404 }),
  });
  console.log(`listening on http://127.0.0.1:${server.port}`);
  process.on("SIGTERM", () => {
    server.stop(true);
    for (const log of logs) closeSync(log.fd);
    closeSync(offsets.fd);
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}

function percentiles(label: string, latenciesMs: number[]): string {
  latenciesMs.sort((a, b) => a - b);
  const at = (quantile: number) => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(latenciesMs.length * quantile))]!.toFixed(2);
  return `${label} p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, p99 ${at(0.99)} ms, max ${latenciesMs.at(-1)!.toFixed(1)} ms`;
}

async function run(): Promise<void> {
  const ratePerSecond = Number(option("rate", "5000"));
  const seconds = Number(option("seconds", "8"));
  const fsync = option("fsync", "always");
  const commit = option("commit", "yes");
  const inFlightMax = Number(option("in-flight", "1"));
  const client = option("client", "socket");
  const request = client === "fetch" ? (input: string, init: RequestInit) => fetch(input, init) : new SocketFetch().fetch;
  const { address: url, server } = await spawnServer(import.meta.path, [SERVER_FLAG, `--fsync=${fsync}`]);
  try {
    const epochNowMs = () => performance.timeOrigin + performance.now();
    const startMs = performance.now();
    const warmUpEndsEpochMs = epochNowMs() + WARM_UP_MS;
    const receiptMs: number[] = [];
    const ackMs: number[] = [];
    let sent = 0;
    let received = 0;

    // Producer: --in-flight requests per partition (1: what piles up meanwhile goes in the next).
    const queues = Array.from({ length: PARTITIONS }, () => ({ messages: [] as { bytes: Uint8Array; sentAtMs: number }[], inFlight: 0, scheduled: false }));
    const flush = (partition: number) => {
      const queue = queues[partition]!;
      queue.scheduled = false;
      if (queue.inFlight >= inFlightMax || queue.messages.length === 0) return;
      const batch = queue.messages;
      queue.messages = [];
      queue.inFlight++;
      const body = new Uint8Array(batch.length * MESSAGE_BYTES);
      batch.forEach((message, index) => body.set(message.bytes, index * MESSAGE_BYTES));
      void request(`${url}/produce/${partition}`, { method: "POST", body })
        .then((response) => response.text())
        .then((text) => JSON.parse(text))
        .then(() => {
          const nowMs = epochNowMs();
          for (const message of batch) if (message.sentAtMs >= warmUpEndsEpochMs) ackMs.push(nowMs - message.sentAtMs);
          queue.inFlight--;
          flush(partition);
        });
    };
    const send = (partition: number) => {
      const sentAtMs = epochNowMs();
      const bytes = new Uint8Array(MESSAGE_BYTES).fill(120);
      new DataView(bytes.buffer).setFloat64(0, sentAtMs);
      const queue = queues[partition]!;
      queue.messages.push({ bytes, sentAtMs });
      if (!queue.scheduled && queue.inFlight < inFlightMax) {
        queue.scheduled = true;
        setImmediate(() => flush(partition));
      }
    };

    // Consumer: one long poll in flight for both partitions, carrying the offsets it has (its commit).
    const next = new Array<number>(PARTITIONS).fill(0);
    let consuming = true;
    const consumer = (async () => {
      while (consuming || received < sent) {
        const query = next.map((offset, partition) => `o${partition}=${offset}`).join("&");
        const answer = new Uint8Array(await (await request(`${url}/consume?${query}&commit=${commit}`, {})).arrayBuffer());
        const nowMs = epochNowMs();
        const view = new DataView(answer.buffer);
        let position = 4 * PARTITIONS;
        for (let partition = 0; partition < PARTITIONS; partition++) {
          const count = view.getUint32(4 * partition, true);
          for (let i = 0; i < count; i++) {
            const sentAtMs = view.getFloat64(position);
            if (sentAtMs >= warmUpEndsEpochMs) receiptMs.push(nowMs - sentAtMs);
            position += MESSAGE_BYTES;
          }
          next[partition]! += count;
          received += count;
        }
        if (!consuming && received >= sent) break;
      }
    })();

    while (performance.now() - startMs < seconds * 1000) {
      const delayMs = startMs + (sent * 1000) / ratePerSecond - performance.now();
      if (delayMs > 0) await Bun.sleep(delayMs);
      send(sent % PARTITIONS);
      sent++;
    }
    consuming = false;
    await consumer;
    console.log(
      `durable ceiling at ${ratePerSecond}/s, fsync ${fsync}, commit ${commit}, ${inFlightMax} in flight, ${client} client (${receiptMs.length} after warm-up): ` +
        `${percentiles("send→receipt", receiptMs)}; ${percentiles("send→ack", ackMs)}`,
    );
  } finally {
    server.kill("SIGTERM");
    await server.exited;
  }
}

if (process.argv.includes(SERVER_FLAG)) serve();
else await run();
