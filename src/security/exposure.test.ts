import { describe, expect, test } from "bun:test";
import { exposureWarnings, isLoopbackHost } from "./exposure.ts";

const closed = { tls: true, authRequired: true, peersAuthenticated: true };
const open = { tls: false, authRequired: false, peersAuthenticated: false };

describe("exposureWarnings", () => {
  test("loopback addresses are never warned about, whatever is off", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) {
      expect(exposureWarnings({ host, ...open })).toEqual([]);
    }
  });

  test("a non-loopback address with everything on has nothing to say", () => {
    expect(exposureWarnings({ host: "0.0.0.0", ...closed })).toEqual([]);
  });

  test("a non-loopback address without TLS is a marked block naming the address and what is exposed", () => {
    const lines = exposureWarnings({ host: "0.0.0.0", ...open });
    expect(lines[0]).toMatch(/^!{20,}$/);
    expect(lines.at(-1)).toBe(lines[0]);
    const text = lines.join("\n");
    expect(text).toContain("WARNING: listening on 0.0.0.0");
    expect(text).toContain("no TLS");
    expect(text).toContain("--tls-cert");
    expect(text).toContain("no client authentication");
    expect(text).toContain("replication is not authenticated");
  });

  test("each missing protection has its own line, and only the missing ones", () => {
    expect(exposureWarnings({ host: "10.0.0.5", ...closed, tls: false }).join("\n")).toContain("no TLS");
    const tlsOnly = exposureWarnings({ host: "10.0.0.5", ...closed, authRequired: false }).join("\n");
    expect(tlsOnly).not.toContain("no TLS");
    expect(tlsOnly).toContain("no client authentication");
    expect(tlsOnly).not.toContain("replication is not authenticated");
    const peers = exposureWarnings({ host: "broker-1.example.com", ...closed, peersAuthenticated: false }).join("\n");
    expect(peers).toContain("replication is not authenticated");
    expect(peers).not.toContain("no client authentication");
  });
});

describe("isLoopbackHost", () => {
  test("only 127/8, ::1 and localhost", () => {
    expect(isLoopbackHost("127.0.0.1")).toBe(true);
    expect(isLoopbackHost("0.0.0.0")).toBe(false);
    expect(isLoopbackHost("::")).toBe(false);
    expect(isLoopbackHost("")).toBe(false);
    expect(isLoopbackHost("192.168.1.10")).toBe(false);
    expect(isLoopbackHost("127.0.0.1.example.com")).toBe(false);
    expect(isLoopbackHost("localhost.example.com")).toBe(false);
  });
});
