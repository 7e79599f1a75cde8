import * as net from "node:net";

/**
 * One HTTP/1.1 request written byte by byte on a plain TCP socket, for bodies
 * fetch will not send: a Content-Length far larger than what follows, or a
 * chunked body that keeps coming until the server answers. Writes wait for
 * the socket to drain.
 */

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawRequest {
  url: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Bytes sent after the head as they are (use with a Content-Length header). */
  body?: Uint8Array;
  /** Sends a chunked body of up to this many bytes, stopping as soon as the answer is in. */
  chunkedBytes?: number;
  /** Default 30 s. */
  timeoutMs?: number;
}

const CHUNK = new Uint8Array(256 * 1024).fill(0x20);

export function rawRequest(request: RawRequest): Promise<RawAnswer> {
  const { hostname, port } = new URL(request.url);
  const head =
    `${request.method} ${request.path} HTTP/1.1\r\nhost: ${hostname}:${port}\r\n` +
    Object.entries(request.headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("") +
    (request.chunkedBytes === undefined ? "" : "transfer-encoding: chunked\r\n") +
    "\r\n";
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    let sentBytes = 0;
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`no whole answer within ${request.timeoutMs ?? 30_000} ms; got ${JSON.stringify(received.toString().slice(0, 300))}`)), request.timeoutMs ?? 30_000);

    const finish = (outcome: RawAnswer | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const parsed = (): RawAnswer | undefined => {
      const head = parseAnswerHead(received);
      if (head === undefined) return undefined;
      const bodyBytes = Number(head.headers["content-length"] ?? 0);
      if (head.rest.length < bodyBytes) return undefined;
      return { status: head.status, headers: head.headers, body: head.rest.subarray(0, bodyBytes).toString("utf8") };
    };

    socket.on("data", (data: Buffer) => {
      received = Buffer.concat([received, data]);
      const answer = parsed();
      if (answer !== undefined) finish(answer);
    });
    socket.on("close", () => finish(parsed() ?? new Error(`the server closed the connection after ${sentBytes} body bytes without a whole answer; got ${JSON.stringify(received.toString().slice(0, 300))}`)));
    socket.on("error", () => {}); // a reset after the answer is expected; "close" follows and decides

    socket.write(head);
    if (request.body !== undefined) {
      socket.write(request.body);
      sentBytes = request.body.length;
    }
    const totalBytes = request.chunkedBytes;
    if (totalBytes === undefined) return;
    const chunkHead = Buffer.from(`${CHUNK.length.toString(16)}\r\n`);
    const pump = () => {
      while (!settled && sentBytes < totalBytes) {
        socket.write(chunkHead);
        socket.write(CHUNK);
        sentBytes += CHUNK.length;
        if (!socket.write("\r\n")) {
          socket.once("drain", pump);
          return;
        }
      }
      if (!settled) socket.write("0\r\n\r\n");
    };
    pump();
  });
}

/** An HTTP/1.1 answer's status line and headers (names lower-cased) once they have arrived whole, and the bytes after them. */
export function parseAnswerHead(received: Buffer): { status: number; headers: Record<string, string>; rest: Buffer } | undefined {
  const headEnd = received.indexOf("\r\n\r\n");
  if (headEnd === -1) return undefined;
  const lines = received.subarray(0, headEnd).toString("latin1").split("\r\n");
  const status = Number(lines[0]!.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, rest: received.subarray(headEnd + 4) };
}
