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
 * request; idle connections do not keep the process alive. https:// URLs
 * (with the `tls` option given), bodies other than strings and byte arrays,
 * and bodies of 64 KiB or more go to the global fetch.
 */

import { unzeroedBytes } from "../core/bytes.ts";
import { AnswerParser, type HttpResponseLike } from "./http-answer-parser.ts";
import { Connection, type Exchange, OriginPool } from "./socket-connection.ts";

export type { HttpResponseLike } from "./http-answer-parser.ts";

export interface SocketFetchOptions {
  /** A connection unused this long is closed. Default 2 s. */
  idleMs?: number;
  /** Header bytes an answer may have before the connection is given up. Default 64 KiB. */
  headerBytesMax?: number;
  /** Bun's fetch `tls` option (PEM ca, cert, key) for the requests that go to the global fetch. */
  tls?: { ca?: string; cert?: string; key?: string };
}

const IDLE_MS_DEFAULT = 2_000;
/** Request bodies from this size on go through fetch (see takesBody). */
const LARGE_BODY_BYTES = 64 * 1024;
const HEADER_BYTES_MAX_DEFAULT = 64 * 1024;
const encoder = new TextEncoder();
const VISIBLE_ASCII = /^[\x21-\x7e]*$/;

export class SocketFetch {
  private readonly idleMs: number;
  private readonly headerBytesMax: number;
  private readonly fetchInit: { tls?: { ca?: string; cert?: string; key?: string } };
  private readonly pools = new Map<string, OriginPool>();
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(options: SocketFetchOptions = {}) {
    this.idleMs = options.idleMs ?? IDLE_MS_DEFAULT;
    this.headerBytesMax = options.headerBytesMax ?? HEADER_BYTES_MAX_DEFAULT;
    this.fetchInit = options.tls === undefined ? {} : { tls: options.tls };
  }

  /** fetch(url, init) for the subset the SDK uses; see the module comment. */
  readonly fetch = (url: string, init: RequestInit = {}): Promise<HttpResponseLike> => {
    const given = init.body ?? undefined;
    if (!url.startsWith("http://") || (given !== undefined && !this.takesBody(given))) return fetch(url, { ...init, ...this.fetchInit });
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
