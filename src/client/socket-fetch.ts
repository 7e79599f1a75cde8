/**
 * The SDK's HTTP/1.1 transport: requests over keep-alive TCP connections of
 * its own (Bun.connect), one request at a time per connection.
 *
 * Why not the global fetch: Bun's fetch runs every request on its HTTP
 * thread, so each one crosses threads twice before the caller sees the
 * answer. On loopback that hand-off is a large part of a round trip
 * (bench/RESULTS.md has the figures). The broker's answers are simple:
 * a status, a few headers and a body framed by Content-Length (chunked and
 * read-until-close framing are handled too), so a small client suffices.
 *
 * Behaves as fetch does where the HttpClient looks: a refused connection
 * rejects with code ECONNREFUSED (never sent), a connection lost before the
 * answer ends rejects with code ECONNRESET, an aborted signal rejects with
 * its reason and closes the connection. Connections idle for `idleMs` are
 * closed, well before a server's idle timeout would close them under a
 * request; idle connections do not keep the process alive. https:// URLs,
 * bodies other than strings and byte arrays, and bodies of 64 KiB or more
 * go to the global fetch.
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

export interface SocketFetchOptions {
  /** A connection unused this long is closed. Default 2 s. */
  idleMs?: number;
  /** Header bytes an answer may have before the connection is given up. Default 64 KiB. */
  headerBytesMax?: number;
}

const IDLE_MS_DEFAULT = 2_000;
/** Request bodies from this size on go through fetch (see takesBody). */
const LARGE_BODY_BYTES = 64 * 1024;
const HEADER_BYTES_MAX_DEFAULT = 64 * 1024;
const CR = 13;
const LF = 10;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
const VISIBLE_ASCII = /^[\x21-\x7e]*$/;

/** An answer read off a connection. */
class SocketResponse implements HttpResponseLike {
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
function connectionError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

type Framing = "length" | "chunked" | "close" | "none";

/** Reads one HTTP/1.1 answer from the bytes a connection receives. */
class AnswerParser {
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

interface Exchange {
  parser: AnswerParser;
  resolve(response: SocketResponse): void;
  reject(error: unknown): void;
  /** Bytes of the request not yet taken by the socket. */
  unwritten: Uint8Array | undefined;
}

/** One keep-alive connection to one origin. */
class Connection {
  exchange: Exchange | undefined;
  idleSinceMs = 0;
  closed = false;

  constructor(
    readonly socket: Bun.Socket<Connection>,
    private readonly release: (connection: Connection) => void,
  ) {}

  send(request: Uint8Array, exchange: Exchange): void {
    this.exchange = exchange;
    this.socket.ref();
    this.write(request);
  }

  write(bytes: Uint8Array): void {
    const exchange = this.exchange!;
    const written = this.socket.write(bytes);
    exchange.unwritten = written >= bytes.length ? undefined : bytes.subarray(Math.max(0, written));
  }

  drained(): void {
    const unwritten = this.exchange?.unwritten;
    if (unwritten !== undefined) this.write(unwritten);
  }

  received(data: Uint8Array): void {
    const exchange = this.exchange;
    if (exchange === undefined) {
      // Nothing was asked: a server that talks out of turn gets no more requests.
      this.close();
      return;
    }
    let response: SocketResponse | undefined;
    try {
      response = exchange.parser.push(data);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (response !== undefined) this.complete(exchange, response);
  }

  /** The socket closed (by either side) or failed. */
  lost(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const exchange = this.exchange;
    if (exchange === undefined) return;
    this.exchange = undefined;
    const response = error === undefined ? exchange.parser.closed() : undefined;
    if (response !== undefined) exchange.resolve(response);
    else exchange.reject(connectionError("ECONNRESET", `the connection closed before the answer was complete${error ? ` (${error.message})` : ""}`));
  }

  fail(error: unknown): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    this.close();
    exchange?.reject(error);
  }

  close(): void {
    if (!this.closed) {
      this.closed = true;
      this.socket.terminate();
    }
  }

  private complete(exchange: Exchange, response: SocketResponse): void {
    this.exchange = undefined;
    // An answer that came before the whole request was written (an early 413) ends the connection.
    if (exchange.parser.closeAfter || exchange.unwritten !== undefined) this.close();
    else this.release(this);
    exchange.resolve(response);
  }
}

/** The idle connections to one origin, most recently used last. */
class OriginPool {
  readonly idle: Connection[] = [];

  constructor(
    readonly hostname: string,
    readonly port: number,
    /** `Host: …\r\n`, built once. */
    readonly hostLine: string,
  ) {}
}

export class SocketFetch {
  private readonly idleMs: number;
  private readonly headerBytesMax: number;
  private readonly pools = new Map<string, OriginPool>();
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(options: SocketFetchOptions = {}) {
    this.idleMs = options.idleMs ?? IDLE_MS_DEFAULT;
    this.headerBytesMax = options.headerBytesMax ?? HEADER_BYTES_MAX_DEFAULT;
  }

  /** fetch(url, init) for the subset the SDK uses; see the module comment. */
  readonly fetch = (url: string, init: RequestInit = {}): Promise<HttpResponseLike> => {
    const given = init.body ?? undefined;
    if (!url.startsWith("http://") || (given !== undefined && !this.takesBody(given))) return fetch(url, init);
    const body = given as string | Uint8Array | undefined;
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const pathStart = url.indexOf("/", 7);
    const origin = pathStart === -1 ? url : url.slice(0, pathStart);
    let target = pathStart === -1 ? "/" : url.slice(pathStart);
    // A request line is ASCII: let URL percent-encode anything else, as fetch does.
    if (!VISIBLE_ASCII.test(target)) {
      const parsed = new URL(url);
      target = parsed.pathname + parsed.search;
    }
    const pool = this.poolOf(origin);
    const request = this.encodeRequest(init.method ?? "GET", target, pool.hostLine, init.headers, body);
    return new Promise<HttpResponseLike>((resolve, reject) => {
      let connection: Connection | undefined;
      const onAbort = () => {
        connection?.fail(signal!.reason);
        reject(signal!.reason);
      };
      const exchange: Exchange = {
        parser: new AnswerParser(this.headerBytesMax),
        resolve: (response) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(response);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
        unwritten: undefined,
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const idle = this.takeIdle(pool);
      if (idle !== undefined) {
        connection = idle;
        idle.send(request, exchange);
        return;
      }
      this.connect(pool).then(
        (opened) => {
          if (signal?.aborted) {
            this.releaseTo(pool, opened);
            return;
          }
          connection = opened;
          opened.send(request, exchange);
        },
        (error: unknown) => exchange.reject(error),
      );
    });
  };

  /**
   * Small string and byte bodies go over our sockets. A large one goes to
   * fetch: copying it into the socket and the kernel's work for it (on
   * loopback the sender's write also runs the receiver's TCP) then happen on
   * fetch's thread, not on the event loop, where it would hold up every
   * other request.
   */
  private takesBody(body: unknown): body is string | Uint8Array {
    if (typeof body === "string") return body.length < LARGE_BODY_BYTES; // characters: near enough for the choice
    return body instanceof Uint8Array && body.length < LARGE_BODY_BYTES;
  }

  /** Closes every idle connection (requests in flight finish on theirs, which then close). */
  close(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const pool of this.pools.values()) {
      for (const connection of pool.idle) connection.close();
      pool.idle.length = 0;
    }
  }

  /** Idle connections held now, over all origins (tests). */
  get idleConnections(): number {
    let count = 0;
    for (const pool of this.pools.values()) count += pool.idle.length;
    return count;
  }

  private poolOf(origin: string): OriginPool {
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      const parsed = new URL(origin);
      const hostname = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
      pool = new OriginPool(hostname, Number(parsed.port || 80), `Host: ${parsed.host}\r\n`);
      this.pools.set(origin, pool);
    }
    return pool;
  }

  private takeIdle(pool: OriginPool): Connection | undefined {
    for (;;) {
      const connection = pool.idle.pop();
      if (connection === undefined || !connection.closed) return connection;
    }
  }

  private async connect(pool: OriginPool): Promise<Connection> {
    const socket = await Bun.connect<Connection>({
      hostname: pool.hostname,
      port: pool.port,
      socket: {
        data: (socket, data) => socket.data?.received(data),
        drain: (socket) => socket.data?.drained(),
        close: (socket, error) => socket.data?.lost(error),
        error: (socket, error) => socket.data?.lost(error),
        // The server ended its side: an answer framed by the close is complete; nothing more goes this way.
        end: (socket) => {
          socket.data?.lost();
          socket.terminate();
        },
      },
    });
    socket.setNoDelay(true);
    const connection = new Connection(socket, (released) => this.releaseTo(pool, released));
    socket.data = connection;
    return connection;
  }

  private releaseTo(pool: OriginPool, connection: Connection): void {
    if (connection.closed) return;
    connection.idleSinceMs = performance.now();
    connection.socket.unref();
    pool.idle.push(connection);
    this.sweeper ??= this.startSweeper();
  }

  private startSweeper(): ReturnType<typeof setInterval> {
    const sweeper = setInterval(() => {
      const oldestMs = performance.now() - this.idleMs;
      let held = 0;
      for (const pool of this.pools.values()) {
        // Most recently used last: the ones idle too long are at the front.
        let stale = 0;
        while (stale < pool.idle.length && (pool.idle[stale]!.closed || pool.idle[stale]!.idleSinceMs <= oldestMs)) stale++;
        for (const connection of pool.idle.splice(0, stale)) connection.close();
        held += pool.idle.length;
      }
      if (held === 0) {
        clearInterval(sweeper);
        this.sweeper = undefined;
      }
    }, Math.max(1, this.idleMs / 2));
    sweeper.unref();
    return sweeper;
  }

  private encodeRequest(method: string, target: string, hostLine: string, headers: RequestInit["headers"], body: string | Uint8Array | undefined): Uint8Array {
    let head = `${method} ${target} HTTP/1.1\r\n${hostLine}`;
    if (headers !== undefined) {
      const pairs = Array.isArray(headers) || headers instanceof Headers ? headers : Object.entries(headers);
      for (const [name, value] of pairs as Iterable<[string, string]>) {
        if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new TypeError(`header ${JSON.stringify(name)} holds a line break`);
        head += `${name}: ${value}\r\n`;
      }
    }
    if (body === undefined) return encoder.encode(`${head}\r\n`);
    if (typeof body === "string") {
      const bodyBytes = Buffer.byteLength(body);
      return encoder.encode(`${head}Content-Length: ${bodyBytes}\r\n\r\n${body}`);
    }
    head += `Content-Length: ${body.length}\r\n\r\n`;
    const headBytes = Buffer.byteLength(head);
    const request = unzeroedBytes(headBytes + body.length); // every byte is written below
    encoder.encodeInto(head, request);
    request.set(body, headBytes);
    return request;
  }
}

/** A copy: the bytes a socket hands over are Buffers, whose slice() would share them instead. */
function copyOf(bytes: Uint8Array): Uint8Array {
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
