import { describe, expect, test } from "bun:test";
import { isHostPort } from "./host-port.ts";

describe("isHostPort", () => {
  test("takes a name, an IPv4 or a bracketed IPv6 address with a port", () => {
    for (const good of ["localhost:9092", "127.0.0.1:1", "broker-2.example.com:65535", "gafka_1:8080", "[::1]:9092", "[fe80::1:2]:80"]) {
      expect(isHostPort(good)).toBe(true);
    }
  });

  test("refuses URLs, paths, users, missing or out-of-range ports and odd hosts", () => {
    for (const bad of [
      "",
      "localhost",
      ":9092",
      "localhost:0",
      "localhost:65536",
      "localhost:99999999",
      "localhost:-1",
      "localhost:80a",
      "http://localhost:9092",
      "localhost:9092/path",
      "user@localhost:9092",
      "169.254.169.254:80/latest/meta-data",
      "localhost:9092?x=1",
      "localhost:9092#x",
      "1.2.3:80",
      "256.1.1.1:80",
      "::1:9092",
      "[::1]",
      "[zz::1]:80",
      "-bad.example:80",
      "a..b:80",
      "host name:80",
      `${"a".repeat(254)}:80`,
    ]) {
      expect({ bad, ok: isHostPort(bad) }).toEqual({ bad, ok: false });
    }
  });
});
