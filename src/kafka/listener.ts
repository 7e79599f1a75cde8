/**
 * The Kafka listener: a TCP server (Bun.listen) that frames each
 * connection's bytes into requests (frame-reader.ts), hands them one at a
 * time, in order, to a handler, and writes the answers back in the same
 * order. Kafka clients pipeline requests and match answers by order as well
 * as correlation id, so one request per connection is handled at a time, as
 * Kafka does. A handler that answers `undefined` closes the connection (an
 * undescribed API or version, a malformed request): the client cannot be
 * answered in a form it would read. A handler that answers NO_ANSWER
 * writes nothing back (a Produce with acks=0).
 */
import type { Socket, TCPSocketListener } from "bun";
import { limits } from "../core/limits.ts";
import { listenOrExplain } from "../core/listen-or-explain.ts";
import type { Logger } from "../core/logger.ts";
import { FrameReader } from "./frame-reader.ts";

/**
 * What a handler returns for a request that gets no answer at all: a
 * Produce with acks=0, which the client does not wait for (Kafka writes
 * nothing back either, and a client would misread an answer it does not expect).
 */
export const NO_ANSWER = Symbol("no answer");

/** Answers one request (without its size prefix) with a whole response, size prefix included; NO_ANSWER writes nothing; undefined closes the connection. */
export type RequestHandler = (request: Uint8Array) => Promise<Uint8Array | typeof NO_ANSWER | undefined>;

export interface KafkaListenerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  handler: RequestHandler;
  logger: Logger;
  /** limits.kafkaRequestBytesMax when absent. */
  requestBytesMax?: number;
  /** limits.kafkaConnectionIdleMsDefault when absent. */
  idleMs?: number;
  /** Told of the bytes read from and written to every connection (the door's metrics). */
  traffic?: { received(bytes: number): void; sent(bytes: number): void };
}

interface Connection {
  readonly reader: FrameReader;
  readonly queue: Uint8Array[];
  /** Answers not yet taken by the socket (it was full). */
  readonly unsent: Uint8Array[];
  handling: boolean;
  closed: boolean;
  paused: boolean;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** Resolves once nothing is queued, handled or unsent (the stop waits for it). */
  settled: Promise<void>;
  settle: () => void;
}

export class KafkaListener {
  private readonly server: TCPSocketListener<Connection>;
  private readonly connections = new Set<Socket<Connection>>();
  private readonly requestBytesMax: number;
  private readonly idleMs: number;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: KafkaListenerOptions) {
    this.requestBytesMax = options.requestBytesMax ?? limits.kafkaRequestBytesMax;
    this.idleMs = options.idleMs ?? limits.kafkaConnectionIdleMsDefault;
    this.server = listenOrExplain(options.host, options.port, () => Bun.listen<Connection>({
      hostname: options.host,
      port: options.port,
      socket: {
        open: (socket) => this.open(socket),
        data: (socket, chunk) => this.received(socket, chunk),
        drain: (socket) => this.flush(socket),
        close: (socket) => this.closed(socket),
        error: (socket, error) => {
          this.options.logger.debug(`kafka connection error: ${error.message}`);
          this.close(socket);
        },
      },
    }));
  }

  get port(): number {
    return this.server.port;
  }

  get host(): string {
    return this.server.hostname;
  }

  /** Connections open now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting connections and reading requests, lets every request
   * already received be answered, then closes every connection. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.drainAndClose();
    return this.stopping;
  }

  private async drainAndClose(): Promise<void> {
    this.server.stop(false);
    await Promise.all([...this.connections].map((socket) => socket.data.settled));
    for (const socket of this.connections) this.close(socket);
  }

  private open(socket: Socket<Connection>): void {
    if (this.stopping !== undefined) {
      socket.end();
      return;
    }
    let settle = () => {};
    const settled = new Promise<void>((resolve) => (settle = resolve));
    socket.data = {
      reader: new FrameReader(this.requestBytesMax),
      queue: [],
      unsent: [],
      handling: false,
      closed: false,
      paused: false,
      idleTimer: undefined,
      settled,
      settle,
    };
    socket.setNoDelay(true);
    this.connections.add(socket);
    this.armIdleTimer(socket);
  }

  private received(socket: Socket<Connection>, chunk: Uint8Array): void {
    const connection = socket.data;
    if (connection.closed || this.stopping !== undefined) return;
    this.options.traffic?.received(chunk.length);
    const frames = connection.reader.push(chunk);
    if (frames === "oversize") {
      this.options.logger.debug(`kafka connection from ${socket.remoteAddress}: request larger than ${this.requestBytesMax} bytes; closing`);
      this.close(socket);
      return;
    }
    connection.queue.push(...frames);
    this.armIdleTimer(socket);
    if (connection.queue.length >= limits.kafkaPipelinedRequestsMax && !connection.paused) {
      socket.pause();
      connection.paused = true;
    }
    void this.handleQueued(socket);
  }

  /** Handles the queued requests one after the other; the only loop that writes answers, so they go out in order. */
  private async handleQueued(socket: Socket<Connection>): Promise<void> {
    const connection = socket.data;
    if (connection.handling) return;
    connection.handling = true;
    try {
      while (!connection.closed && connection.queue.length > 0) {
        const request = connection.queue.shift()!;
        if (connection.paused && connection.queue.length < limits.kafkaPipelinedRequestsMax / 2) {
          socket.resume();
          connection.paused = false;
        }
        let response: Uint8Array | typeof NO_ANSWER | undefined;
        try {
          response = await this.options.handler(request);
        } catch (error) {
          // The handler answers every error it knows with a Kafka error code; anything else is a bug, and ends this connection only.
          this.options.logger.error(`kafka request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
          response = undefined;
        }
        if (response === undefined) {
          this.close(socket);
          break;
        }
        if (response === NO_ANSWER) continue;
        connection.unsent.push(response);
        this.flush(socket);
      }
    } finally {
      connection.handling = false;
      this.settleIfIdle(socket);
    }
  }

  /** Writes unsent answers until the socket takes no more; `drain` calls it again. */
  private flush(socket: Socket<Connection>): void {
    const connection = socket.data;
    while (!connection.closed && connection.unsent.length > 0) {
      const bytes = connection.unsent[0]!;
      const written = socket.write(bytes);
      if (written < 0) {
        this.close(socket);
        return;
      }
      if (written > 0) this.options.traffic?.sent(written);
      if (written < bytes.length) {
        connection.unsent[0] = bytes.subarray(Math.max(written, 0));
        return;
      }
      connection.unsent.shift();
    }
    this.settleIfIdle(socket);
  }

  private settleIfIdle(socket: Socket<Connection>): void {
    const connection = socket.data;
    if (connection.closed || (!connection.handling && connection.queue.length === 0 && connection.unsent.length === 0)) connection.settle();
  }

  /** Closes the connection unless a request arrives within the idle limit; any request re-arms it. */
  private armIdleTimer(socket: Socket<Connection>): void {
    const connection = socket.data;
    clearTimeout(connection.idleTimer);
    connection.idleTimer = setTimeout(() => {
      if (connection.handling || connection.queue.length > 0) {
        this.armIdleTimer(socket);
        return;
      }
      this.options.logger.debug(`kafka connection from ${socket.remoteAddress} idle for ${this.idleMs} ms; closing`);
      this.close(socket);
    }, this.idleMs);
  }

  private close(socket: Socket<Connection>): void {
    const connection = socket.data;
    if (!connection.closed) socket.end();
    this.closed(socket);
  }

  private closed(socket: Socket<Connection>): void {
    const connection = socket.data;
    if (connection === undefined) return;
    connection.closed = true;
    connection.queue.length = 0;
    connection.unsent.length = 0;
    clearTimeout(connection.idleTimer);
    this.connections.delete(socket);
    connection.settle();
  }
}
