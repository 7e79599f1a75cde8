import * as net from "node:net";
import type { FuzzRequest } from "./fuzz-request.ts";
import { parseAnswerHead } from "../raw-http.ts";

/**
 * Sends one fuzz request on its own TCP connection exactly as built (fetch
 * would normalise the path, drop odd methods and fix headers), and reads the
 * whole answer within a bound.
 */

export interface WireAnswer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

export type WireOutcome = { kind: "answer"; answer: WireAnswer } | { kind: "timeout"; afterMs: number } | { kind: "closed"; error?: string };

export function send(url: string, request: FuzzRequest, timeoutMs: number): Promise<WireOutcome> {
  const { hostname, port } = new URL(url);
  const head =
    `${request.method} ${request.path} HTTP/1.1\r\nhost: ${hostname}:${port}\r\nconnection: close\r\n` +
    request.headers.map(([name, value]) => `${name}: ${value}\r\n`).join("") +
    (request.body === undefined ? "" : `content-length: ${request.body.length}\r\n`) +
    "\r\n";
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (outcome: WireOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: "timeout", afterMs: timeoutMs }), timeoutMs);
    const tryParse = (ended: boolean) => {
      const answer = parseAnswer(Buffer.concat(chunks), request.method === "HEAD", ended);
      if (answer !== undefined) finish({ kind: "answer", answer });
      else if (ended) finish({ kind: "closed" });
    };
    socket.on("data", (data: Buffer) => {
      chunks.push(data);
      tryParse(false);
    });
    socket.on("end", () => tryParse(true));
    socket.on("close", () => tryParse(true));
    socket.on("error", (error) => {
      if (!settled) setTimeout(() => finish({ kind: "closed", error: error.message }), 0);
    });
    socket.write(Buffer.from(head, "utf8"));
    if (request.body !== undefined && request.body.length > 0) socket.write(request.body);
  });
}

/** The answer once it is whole: by Content-Length, chunked encoding, or (neither) the connection's end. */
function parseAnswer(received: Buffer, headRequest: boolean, ended: boolean): WireAnswer | undefined {
  const head = parseAnswerHead(received);
  if (head === undefined) return undefined;
  const { status, headers, rest } = head;
  if (headRequest || status === 204 || status === 304) return { status, headers, body: new Uint8Array() };
  if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    return rest.length >= length ? { status, headers, body: rest.subarray(0, length) } : undefined;
  }
  if (headers["transfer-encoding"]?.includes("chunked")) return dechunk(rest, status, headers);
  return ended ? { status, headers, body: rest } : undefined;
}

function dechunk(rest: Buffer, status: number, headers: Record<string, string>): WireAnswer | undefined {
  const parts: Buffer[] = [];
  let position = 0;
  for (;;) {
    const lineEnd = rest.indexOf("\r\n", position);
    if (lineEnd === -1) return undefined;
    const size = Number.parseInt(rest.subarray(position, lineEnd).toString("latin1"), 16);
    if (size === 0) return { status, headers, body: Buffer.concat(parts) };
    if (rest.length < lineEnd + 2 + size + 2) return undefined;
    parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
    position = lineEnd + 2 + size + 2;
  }
}
