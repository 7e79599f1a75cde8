import { describe, expect, test } from "bun:test";
import { GafkaClientError } from "./client-error.ts";
import { brokerUrl, HttpClient, type FetchFunction } from "./http-client.ts";

/** A fetch that answers from a script and counts calls. */
function scriptedFetch(answer: (url: string, init: RequestInit, call: number) => Response | Promise<Response>) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchFunction: FetchFunction = async (url, init) => {
    calls.push({ url, init });
    return answer(url, init, calls.length);
  };
  return { calls, fetchFunction };
}

function systemError(code: string): Error {
  return Object.assign(new TypeError(`${code}: something went wrong`), { code });
}

async function caught(promise: Promise<unknown>): Promise<GafkaClientError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GafkaClientError);
    return error as GafkaClientError;
  }
  throw new Error("expected a rejection");
}

describe("brokerUrl", () => {
  test("accepts host:port and URLs", () => {
    expect(brokerUrl("localhost:9001")).toBe("http://localhost:9001");
    expect(brokerUrl("127.0.0.1:9002")).toBe("http://127.0.0.1:9002");
    expect(brokerUrl("http://broker.example:80/")).toBe("http://broker.example");
    expect(brokerUrl("https://broker.example:8443/gafka/")).toBe("https://broker.example:8443/gafka");
  });

  test("refuses what is not an address", async () => {
    expect(() => brokerUrl("http://")).toThrow(GafkaClientError);
  });
});

describe("HttpClient", () => {
  test("sends JSON and builds the query", async () => {
    const { calls, fetchFunction } = scriptedFetch(() => Response.json({ ok: true }));
    const http = new HttpClient({ broker: "localhost:9001", fetch: fetchFunction });
    expect(await http.request("POST", "/api/v1/topics", { body: { name: "t" } })).toEqual({ ok: true });
    await http.request("GET", "/api/v1/consume", { query: { topic: "a b", partition: 0, offset: undefined } });
    expect(calls[0]!.url).toBe("http://localhost:9001/api/v1/topics");
    expect(calls[0]!.init.body).toBe('{"name":"t"}');
    expect((calls[0]!.init.headers as Record<string, string>)["content-type"]).toBe("application/json");
    expect(calls[1]!.url).toBe("http://localhost:9001/api/v1/consume?topic=a+b&partition=0");
  });

  test("turns an error body into a typed error with its details", async () => {
    const body = { error: { code: "offset_out_of_range", message: "offset 99 is out of range [0, 12]", earliest: 0, latest: 12 } };
    const { fetchFunction } = scriptedFetch(() => Response.json(body, { status: 416 }));
    const error = await caught(new HttpClient({ fetch: fetchFunction }).request("GET", "/api/v1/consume"));
    expect(error.status).toBe(416);
    expect(error.code).toBe("offset_out_of_range");
    expect(error.message).toBe("offset 99 is out of range [0, 12]");
    expect(error.details).toEqual({ earliest: 0, latest: 12 });
    expect(error.retriable).toBe(false);
  });

  test("503 is retriable except a corrupt log", async () => {
    const answer = (code: string) => Response.json({ error: { code, message: code } }, { status: 503 });
    const offline = await caught(new HttpClient({ fetch: scriptedFetch(() => answer("partition_offline")).fetchFunction, retries: 0 }).request("GET", "/x"));
    const corrupt = await caught(new HttpClient({ fetch: scriptedFetch(() => answer("log_corrupt")).fetchFunction, retries: 0 }).request("GET", "/x"));
    expect(offline.retriable).toBe(true);
    expect(corrupt.retriable).toBe(false);
  });

  test("an answer without the error body is still a typed error", async () => {
    const { fetchFunction } = scriptedFetch(() => new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }));
    const error = await caught(new HttpClient({ fetch: fetchFunction, retries: 0 }).request("GET", "/x"));
    expect(error.code).toBe("invalid_response");
    expect(error.status).toBe(502);
    expect(error.message).toContain("bad gateway");
  });

  test("a success that is not JSON is an invalid_response", async () => {
    const { fetchFunction } = scriptedFetch(() => new Response("not json"));
    expect((await caught(new HttpClient({ fetch: fetchFunction }).request("GET", "/x"))).code).toBe("invalid_response");
  });

  test("retries a GET after a network error", async () => {
    const { calls, fetchFunction } = scriptedFetch((_url, _init, call) => {
      if (call < 3) throw systemError("ECONNRESET");
      return Response.json({ topics: [] });
    });
    const http = new HttpClient({ fetch: fetchFunction, retries: 3, retryBackoffMs: 1 });
    expect(await http.request("GET", "/api/v1/topics")).toEqual({ topics: [] });
    expect(calls.length).toBe(3);
  });

  test("gives up after the retries", async () => {
    const { calls, fetchFunction } = scriptedFetch(() => {
      throw systemError("ECONNRESET");
    });
    const error = await caught(new HttpClient({ fetch: fetchFunction, retries: 2, retryBackoffMs: 1 }).request("GET", "/x"));
    expect(error.code).toBe("network_error");
    expect(error.message).toMatch(/^gave up after \d+ms and 3 attempts: cannot reach broker at http:\/\/localhost:9001 \(ECONNRESET\)$/);
    // The SDK already retried: nothing up the stack should retry it again.
    expect(error.retriable).toBe(false);
    expect(calls.length).toBe(3);
  });

  test("does not resend a produce whose answer was lost", async () => {
    const { calls, fetchFunction } = scriptedFetch(() => {
      throw systemError("ECONNRESET");
    });
    const http = new HttpClient({ fetch: fetchFunction, retries: 3, retryBackoffMs: 1 });
    const error = await caught(http.request("POST", "/api/v1/produce", { body: { topic: "t", value: "v" } }));
    expect(error.code).toBe("network_error");
    expect(calls.length).toBe(1);
  });

  test("resends a produce the broker refused to connect for (it never saw it)", async () => {
    const { calls, fetchFunction } = scriptedFetch((_url, _init, call) => {
      if (call === 1) throw systemError("ECONNREFUSED");
      return Response.json({ topic: "t", partition: 0, offset: 0, timestamp: 1 });
    });
    const http = new HttpClient({ fetch: fetchFunction, retries: 3, retryBackoffMs: 1 });
    await http.request("POST", "/api/v1/produce", { body: { topic: "t", value: "v" } });
    expect(calls.length).toBe(2);
  });

  test("a real refused connection is a network_error naming the broker", async () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const port = server.port;
    await server.stop(true);
    const http = new HttpClient({ broker: `127.0.0.1:${port}`, retries: 1, retryBackoffMs: 1 });
    const error = await caught(http.request("GET", "/healthz"));
    expect(error.code).toBe("network_error");
    expect(error.message).toContain(`127.0.0.1:${port}`);
  });

  test("a request without an answer in time is a timeout", async () => {
    const fetchFunction: FetchFunction = (_url, init) =>
      new Promise((_resolve, reject) => init.signal!.addEventListener("abort", () => reject(init.signal!.reason)));
    const http = new HttpClient({ fetch: fetchFunction, requestTimeoutMs: 20, retries: 0 });
    const error = await caught(http.request("POST", "/api/v1/produce", { body: {} }));
    expect(error.code).toBe("timeout");
  });

  test("the caller's abort is reported as aborted, not retried", async () => {
    let calls = 0;
    const fetchFunction: FetchFunction = (_url, init) => {
      calls++;
      return new Promise((_resolve, reject) => init.signal!.addEventListener("abort", () => reject(init.signal!.reason)));
    };
    const controller = new AbortController();
    const pending = new HttpClient({ fetch: fetchFunction, retries: 3 }).request("GET", "/x", { signal: controller.signal });
    controller.abort();
    expect((await caught(pending)).code).toBe("aborted");
    expect(calls).toBe(1);
  });

  test("sends bytes with their type, and hands back an answer of the accepted type as bytes", async () => {
    const type = "application/vnd.kafka.record-batch";
    const { calls, fetchFunction } = scriptedFetch((_, init) =>
      (init.headers as Record<string, string>).accept === type
        ? new Response(new Uint8Array([1, 2, 3]), { headers: { "content-type": `${type}; charset=binary` } })
        : Response.json({ ok: true }),
    );
    const http = new HttpClient({ fetch: fetchFunction });
    const body = new Uint8Array([9, 9]);
    expect(await http.exchange("POST", "/api/v1/produce", { bytes: body, contentType: type })).toEqual({ kind: "json", json: { ok: true } });
    expect(calls[0]!.init.body).toBe(body);
    expect((calls[0]!.init.headers as Record<string, string>)["content-type"]).toBe(type);
    const answer = await http.exchange("GET", "/api/v1/consume", { accept: type });
    expect(answer).toEqual({ kind: "bytes", bytes: new Uint8Array([1, 2, 3]), contentType: `${type}; charset=binary` });
    // `request` wants JSON: bytes there are an invalid_response.
    expect((await caught(http.request("GET", "/api/v1/consume", { accept: type }))).code).toBe("invalid_response");
  });

  test("an error answer stays a typed error when bytes were accepted", async () => {
    const { fetchFunction } = scriptedFetch(() => Response.json({ error: { code: "topic_not_found", message: "no topic" } }, { status: 404 }));
    const error = await caught(new HttpClient({ fetch: fetchFunction }).exchange("GET", "/api/v1/consume", { accept: "application/vnd.kafka.record-batch" }));
    expect(error.code).toBe("topic_not_found");
  });

  test("retries a refused GET, with backoff, until the broker is back", async () => {
    const { calls, fetchFunction } = scriptedFetch((_url, _init, call) => {
      if (call <= 5) throw systemError("ECONNREFUSED");
      return Response.json({ topics: [] });
    });
    const waits: number[] = [];
    const retryClock = { monotonicMs: () => 0, random: () => 0.5, sleep: async (ms: number) => void waits.push(ms) };
    const http = new HttpClient({ fetch: fetchFunction, retryClock, retryBackoffMs: 100, retryBackoffMaxMs: 1000 });
    expect(await http.request("GET", "/api/v1/topics")).toEqual({ topics: [] });
    expect(calls.length).toBe(6);
    expect(waits).toEqual([50, 100, 200, 400, 500]);
  });

  test("gives up at the deadline with a clear error", async () => {
    let nowMs = 0;
    const retryClock = {
      monotonicMs: () => nowMs,
      random: () => 0.999,
      sleep: async (ms: number) => {
        nowMs += ms;
      },
    };
    const { calls, fetchFunction } = scriptedFetch(() => {
      throw systemError("ECONNREFUSED");
    });
    const http = new HttpClient({ broker: "127.0.0.1:9001", fetch: fetchFunction, retryClock, retryDeadlineMs: 120_000 });
    const error = await caught(http.request("POST", "/api/v1/produce", { body: {} }));
    expect(error.code).toBe("network_error");
    expect(error.message).toBe(`gave up after 2m and ${calls.length} attempts: cannot reach broker at http://127.0.0.1:9001 (ECONNREFUSED)`);
    expect(nowMs).toBe(120_000);
  });

  test("a 503 the broker calls retriable is retried; one it does not is not", async () => {
    const answer = (retriable: boolean) => Response.json({ error: { code: "storage_failed", message: "fsync failed", retriable } }, { status: 503 });
    const flaky = scriptedFetch((_url, _init, call) => (call === 1 ? answer(true) : Response.json({ ok: true })));
    expect(await new HttpClient({ fetch: flaky.fetchFunction, retryBackoffMs: 1 }).request("POST", "/api/v1/produce", { body: {} })).toEqual({ ok: true });
    expect(flaky.calls.length).toBe(2);
    const broken = scriptedFetch(() => answer(false));
    const error = await caught(new HttpClient({ fetch: broken.fetchFunction, retryBackoffMs: 1 }).request("POST", "/api/v1/produce", { body: {} }));
    expect(error.retriable).toBe(false);
    expect(error.details).toEqual({}); // the flag is not a detail
    expect(broken.calls.length).toBe(1);
  });

  test("resends a request whose answer was lost when the caller accepts a duplicate", async () => {
    const { calls, fetchFunction } = scriptedFetch((_url, _init, call) => {
      if (call === 1) throw systemError("ECONNRESET");
      return Response.json({ ok: true });
    });
    const http = new HttpClient({ fetch: fetchFunction, retryBackoffMs: 1 });
    expect(await http.request("POST", "/api/v1/produce", { body: {}, resendAfterLostAnswer: true })).toEqual({ ok: true });
    expect(calls.length).toBe(2);
  });

  test("a list of brokers: a broker that cannot be reached is left for the next, round the list", async () => {
    const down = new Set(["http://a:1", "http://b:2"]);
    const { calls, fetchFunction } = scriptedFetch((url) => {
      if (down.has(new URL(url).origin)) throw systemError("ECONNREFUSED");
      return Response.json({ ok: true });
    });
    const http = new HttpClient({ brokers: ["a:1", "b:2", "c:3"], fetch: fetchFunction, retryBackoffMs: 1 });
    await http.request("GET", "/x");
    expect(calls.map((call) => new URL(call.url).origin)).toEqual(["http://a:1", "http://b:2", "http://c:3"]);
    expect(http.currentUrl).toBe("http://c:3");
    down.clear();
    down.add("http://c:3");
    calls.length = 0;
    await http.request("GET", "/x");
    expect(calls.map((call) => new URL(call.url).origin)).toEqual(["http://c:3", "http://a:1"]);
  });

  test("a follower's 421 naming the leader is followed at once; when the leader is gone, back to the list", async () => {
    let leaderUp = true;
    const notLeader = () =>
      Response.json(
        { error: { code: "not_leader", message: "broker 2 is a follower; the leader is l:1", retriable: true, leader: "l:1", leader_epoch: 0 } },
        { status: 421 },
      );
    const { calls, fetchFunction } = scriptedFetch((url) => {
      const origin = new URL(url).origin;
      if (origin === "http://f:2") return notLeader();
      if (!leaderUp) throw systemError("ECONNREFUSED");
      return Response.json({ ok: true });
    });
    const http = new HttpClient({ brokers: ["f:2"], fetch: fetchFunction, retryBackoffMs: 1, retries: 5 });
    await http.request("POST", "/api/v1/topics", { body: {} });
    expect(calls.map((call) => new URL(call.url).origin)).toEqual(["http://f:2", "http://l:1"]);
    await http.request("POST", "/api/v1/topics", { body: {} });
    expect(calls.length).toBe(3); // straight to the leader
    expect(new URL(calls[2]!.url).origin).toBe("http://l:1");
    leaderUp = false;
    calls.length = 0;
    const error = await caught(http.request("POST", "/api/v1/topics", { body: {} }));
    // The dead leader, the follower (which still names it: followed at once the first time), the dead leader, ...
    // until the 5 retries are spent: the first pointer to the leader is not a retry.
    const origins = calls.map((call) => new URL(call.url).origin);
    expect(origins).toEqual(["http://l:1", "http://f:2", "http://l:1", "http://f:2", "http://l:1", "http://f:2", "http://l:1"]);
    expect(error.message).toStartWith("gave up after ");
  });

  test("follows a promotion: the old leader's 421 names the new one", async () => {
    let leader = "a:1";
    const { calls, fetchFunction } = scriptedFetch((url) => {
      const host = new URL(url).host;
      if (host === leader) return Response.json({ ok: true }, { headers: { "gafka-leader-epoch": leader === "a:1" ? "0" : "1" } });
      return Response.json({ error: { code: "not_leader", message: "not the leader", retriable: true, leader, leader_epoch: 1 } }, { status: 421 });
    });
    const http = new HttpClient({ brokers: ["a:1", "b:2"], fetch: fetchFunction, retryBackoffMs: 1 });
    await http.request("POST", "/api/v1/produce", { body: {} });
    leader = "b:2";
    await http.request("POST", "/api/v1/produce", { body: {} });
    expect(calls.map((call) => new URL(call.url).host)).toEqual(["a:1", "a:1", "b:2"]);
    expect((calls[2]!.init.headers as Record<string, string>)["gafka-leader-epoch"]).toBe("1");
    expect(http.currentUrl).toBe("http://b:2");
  });

  test("over TLS, bare addresses (given, or named by a 421) are reached by https; http:// stays http", async () => {
    const { calls, fetchFunction } = scriptedFetch((url) => {
      if (new URL(url).host === "f:2") return Response.json({ error: { code: "not_leader", message: "a follower", retriable: true, leader: "l:1" } }, { status: 421 });
      return Response.json({ ok: true });
    });
    const withTls = new HttpClient({ brokers: ["f:2"], tls: { ca: "PEM" }, fetch: fetchFunction, retryBackoffMs: 1 });
    expect(withTls.brokerUrls).toEqual(["https://f:2"]);
    await withTls.request("GET", "/x");
    expect(calls.map((call) => new URL(call.url).origin)).toEqual(["https://f:2", "https://l:1"]);
    expect(new HttpClient({ brokers: ["https://a:1", "b:2"] }).brokerUrls).toEqual(["https://a:1", "https://b:2"]);
    expect(new HttpClient({ brokers: ["http://a:1"], tls: {} }).brokerUrls).toEqual(["http://a:1"]);
    expect(new HttpClient({ brokers: ["a:1"] }).brokerUrls).toEqual(["http://a:1"]);
  });

  test("a certificate that does not verify, or a failed TLS handshake, fails at once (not retriable) and says what to fix", async () => {
    for (const [code, text] of [["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "certificate does not verify"], ["EPROTO", "TLS handshake failed"]] as const) {
      const { calls, fetchFunction } = scriptedFetch(() => {
        throw systemError(code);
      });
      const error = await caught(new HttpClient({ brokers: ["https://a:1"], fetch: fetchFunction, retryBackoffMs: 1, retries: 5 }).request("GET", "/x"));
      expect(error.code).toBe("network_error");
      expect(error.retriable).toBe(false);
      expect(error.message).toContain(text);
      expect(calls.length).toBe(1);
    }
  });

  test("a 421 that names no leader (a fenced leader) moves on to the next broker", async () => {
    const { calls, fetchFunction } = scriptedFetch((url) => {
      if (new URL(url).host === "a:1") {
        return Response.json({ error: { code: "not_leader", message: "no longer leads", retriable: true, leader: null } }, { status: 421 });
      }
      return Response.json({ ok: true });
    });
    const http = new HttpClient({ brokers: ["a:1", "b:2"], fetch: fetchFunction, retryBackoffMs: 1 });
    await http.request("POST", "/api/v1/produce", { body: {} });
    expect(calls.map((call) => new URL(call.url).host)).toEqual(["a:1", "b:2"]);
  });

  test("refuses an empty list of brokers", () => {
    expect(() => new HttpClient({ brokers: [] })).toThrow("at least one broker");
  });
});
