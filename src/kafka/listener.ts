/**
 * The Kafka listener: a TCP server (Bun.listen) that frames each
 * connection's bytes into requests (frame-reader.ts), hands them to a
 * handler in request order, and writes the answers back in that order.
 * Kafka clients pipeline requests and match answers by order as well as
 * correlation id. Pipelined requests are started at once (up to
 * limits.kafkaPipelinedRequestsMax per connection, and no more read while
 * limits.kafkaPipelinedRequestBytesMax of them wait), each begun only after
 * the one before it, so a producer with many requests in flight shares one
 * fsync among them (the log's group commit) instead of paying one each; a
 * handler that starts its appends before its first await keeps one
 * connection's appends in request order. A handler that answers `undefined` closes the connection (an
 * undescribed API or version, a malformed request): the client cannot be
 * answered in a form it would read. A handler that answers NO_ANSWER
 * writes nothing back (a Produce with acks=0).
 */
import type { Socket, TCPSocketListener } from "bun";
import { limits } from "../core/limits.ts";
import { listenOrExplain } from "../core/listen-or-explain.ts";
import type { Logger } from "../core/logger.ts";
import { FrameReader } from "./frame-reader.ts";
import { RequestBufferPool } from "./request-buffer-pool.ts";

/**
 * What a handler returns for a request that gets no answer at all: a
 * Produce with acks=0, which the client does not wait for (Kafka writes
 * nothing back either, and a client would misread an answer it does not expect).
 */
export const NO_ANSWER = Symbol("no answer");

/**
 * Answers one request (without its size prefix) with a whole response, size
 * prefix included; NO_ANSWER writes nothing; undefined closes the connection.
 * `signal` aborts when the connection closes or the listener stops: a long
 * poll then answers with what it has rather than hold the stop up.
 * `release`: the handler calls it once nothing refers to any byte of
 * `request` any more, nor will (its domain work has settled: a produce's
 * batches are written); the listener may then reuse the request's memory for
 * a later request, once the handler's answer is also given. Not calling it
 * is always safe (the memory is left to the garbage collector): a handler
 * that is not sure, or keeps views of the request, never calls it.
 */
export type RequestHandler = (request: Uint8Array, signal: AbortSignal, release: () => void) => Promise<Uint8Array | typeof NO_ANSWER | undefined>;

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
  /** limits.kafkaPipelinedRequestBytesMax when absent. */
  pipelinedRequestBytesMax?: number;
  /** Where large requests' memory comes from and goes back to; one of limits.kafkaRequestBufferPoolBytesMax when absent. */
  requestBufferPool?: RequestBufferPool;
  /** Told of the bytes read from and written to every connection (the door's metrics). */
  traffic?: { received(bytes: number): void; sent(bytes: number): void };
}

/** A request started: its answer once the handler gives it. */
interface InFlight {
  /** The request's size, given back to unansweredBytes once it is answered. */
  bytes: number;
  done: boolean;
  response: Uint8Array | typeof NO_ANSWER | undefined;
}

interface Connection {
  readonly reader: FrameReader;
  /** Requests received, not started yet. */
  readonly queue: Uint8Array[];
  /** Bytes of the requests received and not yet answered (queued or in flight). */
  unansweredBytes: number;
  /** Requests started, oldest first; an answer is written only once every one before it has been. */
  readonly inFlight: InFlight[];
  /** Answers not yet taken by the socket (it was full, or the answers ready together are being gathered). */
  readonly unsent: Uint8Array[];
  /** A flush is queued behind the microtasks now running (the answers becoming ready with this one). */
  flushScheduled: boolean;
  closed: boolean;
  paused: boolean;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** Aborted when the connection closes or the listener stops (see RequestHandler). */
  readonly aborter: AbortController;
  /** Called once nothing is queued, in flight or unsent (the stop waits for it). */
  onIdle: (() => void) | undefined;
}

export class KafkaListener {
  private readonly server: TCPSocketListener<Connection>;
  private readonly connections = new Set<Socket<Connection>>();
  private readonly requestBytesMax: number;
  private readonly idleMs: number;
  private readonly pipelinedBytesMax: number;
  private readonly pool: RequestBufferPool;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: KafkaListenerOptions) {
    this.requestBytesMax = options.requestBytesMax ?? limits.kafkaRequestBytesMax;
    this.idleMs = options.idleMs ?? limits.kafkaConnectionIdleMsDefault;
    this.pipelinedBytesMax = options.pipelinedRequestBytesMax ?? limits.kafkaPipelinedRequestBytesMax;
    this.pool = options.requestBufferPool ?? new RequestBufferPool(limits.kafkaRequestBufferPoolBytesMax);
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
    for (const socket of this.connections) socket.data.aborter.abort();
    await Promise.all([...this.connections].map((socket) => this.idle(socket)));
    for (const socket of this.connections) this.close(socket);
  }

  private open(socket: Socket<Connection>): void {
    if (this.stopping !== undefined) {
      socket.end();
      return;
    }
    socket.data = {
      reader: new FrameReader(this.requestBytesMax, this.pool),
      queue: [],
      unansweredBytes: 0,
      inFlight: [],
      unsent: [],
      flushScheduled: false,
      closed: false,
      paused: false,
      idleTimer: undefined,
      aborter: new AbortController(),
      onIdle: undefined,
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
    for (const frame of frames) {
      connection.queue.push(frame);
      connection.unansweredBytes += frame.length;
    }
    this.armIdleTimer(socket);
    this.startQueued(socket);
  }

  /** Requests received and not yet answered: what the pipelining limit counts. */
  private unanswered(connection: Connection): number {
    return connection.queue.length + connection.inFlight.length;
  }

  /**
   * Starts queued requests, oldest first, while fewer than the limit are in
   * flight, and stops or resumes reading the socket by the same limit and by
   * the bytes held: a client pipelining without end is held back by TCP
   * rather than by memory.
   */
  private startQueued(socket: Socket<Connection>): void {
    const connection = socket.data;
    while (!connection.closed && connection.queue.length > 0 && connection.inFlight.length < limits.kafkaPipelinedRequestsMax) {
      const request = connection.queue.shift()!;
      const slot: InFlight = { bytes: request.length, done: false, response: undefined };
      connection.inFlight.push(slot);
      const answered = (response: Uint8Array | typeof NO_ANSWER | undefined) => {
        slot.done = true;
        slot.response = response;
        this.writeAnswered(socket);
      };
      const reuse = this.reuseOnceDone(request);
      let handling: Promise<Uint8Array | typeof NO_ANSWER | undefined>;
      try {
        handling = this.options.handler(request, connection.aborter.signal, reuse.released);
      } catch (error) {
        handling = Promise.reject(error);
      }
      handling.then((response) => {
        answered(response);
        reuse.answered();
      }, (error: unknown) => {
        // The handler answers every error it knows with a Kafka error code; anything else is a bug, and ends this connection only.
        this.options.logger.error(`kafka request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        answered(undefined);
      });
    }
    const unanswered = this.unanswered(connection);
    const bytes = connection.unansweredBytes;
    if (!connection.paused && (unanswered >= limits.kafkaPipelinedRequestsMax || bytes >= this.pipelinedBytesMax)) {
      socket.pause();
      connection.paused = true;
    } else if (connection.paused && unanswered < limits.kafkaPipelinedRequestsMax / 2 && bytes < this.pipelinedBytesMax / 2) {
      socket.resume();
      connection.paused = false;
    }
  }

  /**
   * A pooled request's memory goes back to the pool once its handler has
   * both released it and given its answer, in either order; a handler that
   * failed, or never released it, leaves it to the garbage collector.
   */
  private reuseOnceDone(request: Uint8Array): { released: () => void; answered: () => void } {
    if (!this.pool.pools(request.length)) return NOTHING_TO_REUSE;
    let released = false;
    let answered = false;
    let given = false;
    const giveIfDone = () => {
      if (!released || !answered || given) return;
      given = true;
      this.pool.give(request);
    };
    return {
      released: () => {
        released = true;
        giveIfDone();
      },
      answered: () => {
        answered = true;
        giveIfDone();
      },
    };
  }

  /** Writes the answers now ready at the head of the line, in request order; the only place answers are written. */
  private writeAnswered(socket: Socket<Connection>): void {
    const connection = socket.data;
    while (!connection.closed && connection.inFlight.length > 0 && connection.inFlight[0]!.done) {
      const { response, bytes } = connection.inFlight.shift()!;
      connection.unansweredBytes -= bytes;
      if (response === undefined) {
        this.close(socket);
        return;
      }
      if (response === NO_ANSWER) continue;
      connection.unsent.push(response);
    }
    this.scheduleFlush(socket);
    this.startQueued(socket);
  }

  /**
   * Flushes once the answers ready together are gathered: the many produces
   * one fsync acknowledges settle in one run of the microtask queue, and the
   * flush queued behind them sends them in one write, not one each. It runs
   * before the event loop takes its next task, not at the next setImmediate:
   * under load that is a whole turn later (every socket read and fsync
   * completion already due runs first), which put up to 2 ms (p99) on each
   * answer.
   */
  private scheduleFlush(socket: Socket<Connection>): void {
    const connection = socket.data;
    if (connection.flushScheduled || connection.unsent.length === 0) return;
    connection.flushScheduled = true;
    queueMicrotask(() => {
      connection.flushScheduled = false;
      this.flush(socket);
    });
  }

  /** Writes unsent answers until the socket takes no more; `drain` calls it again. */
  private flush(socket: Socket<Connection>): void {
    const connection = socket.data;
    while (!connection.closed && connection.unsent.length > 0) {
      const bytes = joinSmallAnswers(connection.unsent);
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

  private isIdle(connection: Connection): boolean {
    return connection.closed || (this.unanswered(connection) === 0 && connection.unsent.length === 0);
  }

  /** Resolves once the connection has nothing queued, in flight or unsent, or is closed. */
  private idle(socket: Socket<Connection>): Promise<void> {
    const connection = socket.data;
    if (this.isIdle(connection)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const before = connection.onIdle;
      connection.onIdle = () => {
        before?.();
        resolve();
      };
    });
  }

  private settleIfIdle(socket: Socket<Connection>): void {
    const connection = socket.data;
    if (!this.isIdle(connection) || connection.onIdle === undefined) return;
    const onIdle = connection.onIdle;
    connection.onIdle = undefined;
    onIdle();
  }

  /** Closes the connection unless a request arrives within the idle limit; any request re-arms it. */
  private armIdleTimer(socket: Socket<Connection>): void {
    const connection = socket.data;
    clearTimeout(connection.idleTimer);
    connection.idleTimer = setTimeout(() => {
      if (this.unanswered(connection) > 0) {
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
    connection.aborter.abort();
    connection.queue.length = 0;
    connection.unansweredBytes = 0;
    connection.inFlight.length = 0;
    connection.unsent.length = 0;
    clearTimeout(connection.idleTimer);
    this.connections.delete(socket);
    const onIdle = connection.onIdle;
    connection.onIdle = undefined;
    onIdle?.();
  }
}

const NOTHING_TO_REUSE = { released: () => {}, answered: () => {} };

/** Small answers are joined into one write, up to this many bytes; a larger one (a fetch's batches) is written as it is, never copied. */
const JOINED_WRITE_BYTES_MAX = 64 * 1024;

/** Replaces the leading small answers of `unsent` by one buffer holding them all, and returns the first entry. */
function joinSmallAnswers(unsent: Uint8Array[]): Uint8Array {
  let count = 0;
  let bytes = 0;
  while (count < unsent.length && bytes + unsent[count]!.length <= JOINED_WRITE_BYTES_MAX) bytes += unsent[count++]!.length;
  if (count < 2) return unsent[0]!;
  const joined = new Uint8Array(bytes);
  let position = 0;
  for (let index = 0; index < count; index++) {
    joined.set(unsent[index]!, position);
    position += unsent[index]!.length;
  }
  unsent.splice(0, count, joined);
  return joined;
}
