/**
 * Reading HTTP/1.1 answers for the SDK's own transport (src/client/socket-fetch.ts):
 * the status line and headers, then a body framed by Content-Length, by
 * chunked transfer encoding, or by the connection's close.
 */

import { joinBytes, unzeroedBytes } from "../core/bytes.ts";

/** What the SDK reads of an answer: a subset of the Response of fetch. */
export interface HttpResponseLike {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
}

const CR = 13;
const LF = 10;
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** An answer read off a connection. */
export class SocketResponse implements HttpResponseLike {
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };

  constructor(
    readonly status: number,
    readonly statusText: string,
    headers: Map<string, string>,
    private readonly body: Uint8Array,
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers = { get: (name) => headers.get(name.toLowerCase()) ?? null };
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    const body = this.body;
    const whole = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
    return Promise.resolve((whole ? body.buffer : copyOf(body).buffer) as ArrayBuffer);
  }

  text(): Promise<string> {
    return Promise.resolve(decoder.decode(this.body));
  }
}

/** A failure of the connection itself, shaped like the errors fetch raises (`code`). */
export function connectionError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

type Framing = "length" | "chunked" | "close" | "none";

/** Reads one HTTP/1.1 answer from the bytes a connection receives. */
export class AnswerParser {
  private pending: Uint8Array = EMPTY;
  private status = 0;
  private statusText = "";
  private headers = new Map<string, string>();
  private framing: Framing | undefined;
  private bodyLength = 0;
  private body: Uint8Array = EMPTY;
  private bodyAt = 0;
  private parts: Uint8Array[] = [];
  /** chunked: bytes left in the current chunk; -1 while its size line is awaited, -2 while the CRLF after its data is. */
  private chunkLeft = -1;
  private trailers = false;
  /** Set when the connection must not carry another request. */
  closeAfter = false;

  constructor(private readonly headerBytesMax: number) {}

  /** Takes received bytes; returns the answer once it is complete. Throws on a malformed answer. */
  push(data: Uint8Array): SocketResponse | undefined {
    let bytes = this.pending.length === 0 ? data : joinBytes([this.pending, data]);
    this.pending = EMPTY;
    if (this.framing === undefined) {
      const end = headEnd(bytes);
      if (end === -1) {
        if (bytes.length > this.headerBytesMax) throw connectionError("EPROTO", `answer headers exceed ${this.headerBytesMax} bytes`);
        this.pending = bytes === data ? copyOf(data) : bytes;
        return undefined;
      }
      this.readHead(bytes.subarray(0, end));
      bytes = bytes.subarray(end + 4);
      if (this.status >= 100 && this.status < 200) {
        // An interim answer (100 Continue): the real one follows.
        this.framing = undefined;
        this.headers = new Map();
        return bytes.length > 0 ? this.push(copyOf(bytes)) : undefined;
      }
    }
    return this.readBody(bytes);
  }

  /** The connection closed: the answer, if its framing is read-until-close. */
  closed(): SocketResponse | undefined {
    if (this.framing !== "close") return undefined;
    return this.finish(joinBytes(this.parts));
  }

  private readHead(head: Uint8Array): void {
    const lines = latin1(head).split("\r\n");
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? "");
    if (statusLine === null) throw connectionError("EPROTO", `not an HTTP/1.x answer: ${JSON.stringify((lines[0] ?? "").slice(0, 80))}`);
    this.status = Number(statusLine[2]);
    this.statusText = statusLine[3] ?? "";
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(":");
      if (colon <= 0) throw connectionError("EPROTO", `malformed answer header: ${JSON.stringify(line.slice(0, 80))}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const previous = this.headers.get(name);
      this.headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
    }
    const connection = this.headers.get("connection")?.toLowerCase() ?? "";
    this.closeAfter = statusLine[1] === "0" ? !connection.includes("keep-alive") : connection.includes("close");
    const transferEncoding = this.headers.get("transfer-encoding")?.toLowerCase();
    const contentLength = this.headers.get("content-length");
    if (this.status === 204 || this.status === 304 || (this.status >= 100 && this.status < 200)) {
      this.framing = "none";
    } else if (transferEncoding?.endsWith("chunked")) {
      this.framing = "chunked";
    } else if (contentLength !== undefined) {
      const length = Number(contentLength);
      if (!Number.isSafeInteger(length) || length < 0) throw connectionError("EPROTO", `bad Content-Length ${JSON.stringify(contentLength)}`);
      this.framing = "length";
      this.bodyLength = length;
      // Every byte is received before anyone sees it, so it need not be zeroed; zeroing a large
      // answer faults in every page of it first (src/core/bytes.ts).
      this.body = length === 0 ? EMPTY : unzeroedBytes(length);
    } else {
      this.framing = "close";
      this.closeAfter = true;
    }
  }

  private readBody(bytes: Uint8Array): SocketResponse | undefined {
    switch (this.framing) {
      case "none":
        return this.finish(EMPTY, bytes);
      case "length": {
        const taken = Math.min(bytes.length, this.bodyLength - this.bodyAt);
        this.body.set(taken === bytes.length ? bytes : bytes.subarray(0, taken), this.bodyAt);
        this.bodyAt += taken;
        return this.bodyAt === this.bodyLength ? this.finish(this.body, bytes.subarray(taken)) : undefined;
      }
      case "close":
        if (bytes.length > 0) this.parts.push(copyOf(bytes));
        return undefined;
      case "chunked":
        return this.readChunks(bytes);
      default:
        return undefined;
    }
  }

  private readChunks(bytes: Uint8Array): SocketResponse | undefined {
    let at = 0;
    while (at < bytes.length) {
      if (this.chunkLeft > 0) {
        const taken = Math.min(this.chunkLeft, bytes.length - at);
        this.parts.push(copyOf(bytes.subarray(at, at + taken)));
        at += taken;
        this.chunkLeft -= taken;
        if (this.chunkLeft === 0) this.chunkLeft = -2; // the CRLF after the chunk's data
        continue;
      }
      const lineEnd = lineEndAt(bytes, at);
      if (lineEnd === -1) {
        this.pending = copyOf(bytes.subarray(at));
        return undefined;
      }
      const line = latin1(bytes.subarray(at, lineEnd));
      at = lineEnd + 2;
      if (this.trailers) {
        if (line === "") return this.finish(joinBytes(this.parts), bytes.subarray(at));
        continue;
      }
      if (this.chunkLeft === -2) {
        if (line !== "") throw connectionError("EPROTO", "chunk data not followed by CRLF");
        this.chunkLeft = -1;
        continue;
      }
      const size = Number.parseInt(line, 16);
      if (!Number.isSafeInteger(size) || size < 0 || !/^[0-9a-fA-F]+/.test(line)) {
        throw connectionError("EPROTO", `bad chunk size ${JSON.stringify(line.slice(0, 20))}`);
      }
      if (size === 0) this.trailers = true;
      else this.chunkLeft = size;
    }
    return undefined;
  }

  private finish(body: Uint8Array, rest: Uint8Array = EMPTY): SocketResponse {
    // Bytes after the answer were never asked for: this connection cannot be trusted with another request.
    if (rest.length > 0) this.closeAfter = true;
    return new SocketResponse(this.status, this.statusText, this.headers, body);
  }
}

/** A copy: the bytes a socket hands over are Buffers, whose slice() would share them instead. */
export function copyOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** Where the blank line after the headers starts, or -1. */
function headEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === CR && bytes[i + 1] === LF && bytes[i + 2] === CR && bytes[i + 3] === LF) return i;
  }
  return -1;
}

/** Where the CRLF ending the line that starts at `from` is, or -1. */
function lineEndAt(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 1 < bytes.length; i++) if (bytes[i] === CR && bytes[i + 1] === LF) return i;
  return -1;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}
