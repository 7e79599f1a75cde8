import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import { Admin } from "./admin.ts";
import { Consumer } from "./consumer.ts";
import { authorizationHeader } from "./http-client.ts";
import { Producer } from "./producer.ts";

/**
 * The SDK's `auth` option: every request carries the Authorization header,
 * through the SDK's own socket transport (plain http) as through fetch.
 * A broker double records the header of each request and answers 400 (nothing is
 * retried), except a topic description the producer needs first.
 */

let server: ReturnType<typeof Bun.serve>;
let seen: { path: string; authorization: string | null }[] = [];

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      seen.push({ path, authorization: request.headers.get("authorization") });
      // The producer learns the partition count first.
      if (path === "/api/v1/topics/t") return Response.json({ name: "t", created_at: 1, partitions: [{ partition: 0, earliest_offset: 0, next_offset: 0, size_bytes: 0, status: "online" }] });
      return Response.json({ error: { code: "invalid_request", message: "recorded", retriable: false } }, { status: 400 });
    },
  });
});
afterAll(() => server.stop(true));
beforeEach(() => {
  seen = [];
});

const broker = () => `127.0.0.1:${server.port}`;
const basicAlice = `Basic ${Buffer.from("alice:pä ss:word").toString("base64")}`;

test("Basic for a user and password on admin, produce and consume requests", async () => {
  const auth = { user: "alice", password: "pä ss:word" };
  await new Admin({ broker: broker(), auth }).listTopics().catch(() => {});
  await new Admin({ broker: broker(), auth }).addUser("bob", "password-1").catch(() => {});
  await new Producer({ broker: broker(), auth, retries: 0, format: "json" }).send({ topic: "t", value: "v" }).catch(() => {});
  await new Consumer({ broker: broker(), auth, topic: "t", partition: 0 }).poll().catch(() => {});
  expect(seen.length).toBeGreaterThanOrEqual(4);
  for (const request of seen) expect(request).toEqual({ path: request.path, authorization: basicAlice });
  expect(seen.map((request) => request.path)).toContain("/api/v1/produce");
});

test("Bearer for a token, through fetch as well as the socket transport", async () => {
  const token = `gafka_${"a".repeat(16)}_${"b".repeat(64)}`;
  await new Admin({ broker: broker(), auth: { token } }).listAcls().catch(() => {});
  await new Admin({ broker: broker(), auth: { token }, fetch: (url, init) => fetch(url, init) }).listUsers().catch(() => {});
  expect(seen.map((request) => request.authorization)).toEqual([`Bearer ${token}`, `Bearer ${token}`]);
});

test("no auth, no header", async () => {
  await new Admin({ broker: broker() }).listTopics().catch(() => {});
  expect(seen).toEqual([{ path: "/api/v1/topics", authorization: null }]);
});

test("credentials that cannot be sent as given are refused before any request", () => {
  expect(() => authorizationHeader({ user: "a:b", password: "x" })).toThrow(/without ':'/);
  expect(() => authorizationHeader({ user: "", password: "x" })).toThrow();
  expect(() => authorizationHeader({ token: "" })).toThrow(/visible ASCII/);
  expect(() => authorizationHeader({ token: "tok en" })).toThrow(/visible ASCII/);
  expect(() => new Admin({ broker: "127.0.0.1:1", auth: { token: "bad\nheader" } })).toThrow();
});
