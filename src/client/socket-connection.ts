/**
 * The keep-alive connections of the SDK's own transport (src/client/socket-fetch.ts):
 * one request at a time per connection, and the idle connections per origin.
 */

import { type AnswerParser, connectionError, type SocketResponse } from "./http-answer-parser.ts";

export interface Exchange {
  parser: AnswerParser;
  resolve(response: SocketResponse): void;
  reject(error: unknown): void;
  /** Bytes of the request not yet taken by the socket. */
  unwritten: Uint8Array | undefined;
}

/** One keep-alive connection to one origin. */
export class Connection {
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
export class OriginPool {
  readonly idle: Connection[] = [];

  constructor(
    readonly hostname: string,
    readonly port: number,
    /** `Host: …\r\n`, built once. */
    readonly hostLine: string,
  ) {}
}

