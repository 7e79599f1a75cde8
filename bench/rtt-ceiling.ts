/**
 * The latency ceiling of this machine for P3: a bare Bun.serve (its own
 * process, parsing the JSON body and answering JSON, no gafka code) and
 * Bun's fetch sending one 1 KB request per message at a fixed rate, paced
 * as `gafka bench e2e` paces (Bun.sleep). Prints the round trip's
 * percentiles after a 1 s warm-up. A gafka end-to-end latency needs at least
 * one such round trip (the produce) plus the consumer's answer.
 *
 *   bun bench/rtt-ceiling.ts [--rate=5000] [--seconds=8] [--client=socket|fetch]
 *
 * `--client=socket` (the default since session 5) sends over keep-alive
 * sockets as the SDK does (src/client/socket-fetch.ts); `fetch` through
 * Bun's fetch, as before.
 */
import { SocketFetch } from "../src/client/socket-fetch.ts";
import { option, spawnServer } from "./ceiling-process.ts";

const SERVER_FLAG = "--serve";
const WARM_UP_MS = 1000;

if (process.argv.includes(SERVER_FLAG)) {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    development: false,
    fetch: async (request) => Response.json({ bytes: (await request.text()).length }),
  });
  console.log(`listening on http://127.0.0.1:${server.port}`);
} else {
  const ratePerSecond = Number(option("rate", "5000"));
  const seconds = Number(option("seconds", "8"));
  const client = option("client", "socket");
  const request = client === "fetch" ? (input: string, init: RequestInit) => fetch(input, init) : new SocketFetch().fetch;
  const { address: url, server } = await spawnServer(import.meta.path, [SERVER_FLAG]);
  try {
    const body = JSON.stringify({ value: "x".repeat(1024) });
    const latenciesMs: number[] = [];
    const startMs = performance.now();
    let sent = 0;
    let answered = 0;
    while (performance.now() - startMs < seconds * 1000) {
      const delayMs = startMs + (sent * 1000) / ratePerSecond - performance.now();
      if (delayMs > 0) await Bun.sleep(delayMs);
      const sentAtMs = performance.now();
      sent++;
      void request(url, { method: "POST", body, headers: { "content-type": "application/json" } })
        .then((response) => response.text())
        .then((text) => JSON.parse(text))
        .then(() => {
          answered++;
          if (sentAtMs - startMs >= WARM_UP_MS) latenciesMs.push(performance.now() - sentAtMs);
        });
    }
    while (answered < sent) await Bun.sleep(10);
    latenciesMs.sort((a, b) => a - b);
    const at = (quantile: number) => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(latenciesMs.length * quantile))]!.toFixed(2);
    console.log(
      `bare Bun.serve round trip at ${ratePerSecond}/s, ${client} client (${latenciesMs.length} after warm-up): ` +
        `p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, p99 ${at(0.99)} ms, max ${latenciesMs.at(-1)!.toFixed(1)} ms`,
    );
  } finally {
    server.kill();
  }
}
