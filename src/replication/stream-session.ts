import type { Clock } from "../core/clock.ts";
import { isGafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import type { Logger } from "../core/logger.ts";
import type { SecuritySnapshot } from "../security/security-snapshot.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";
import { encodeMessage, type StreamMessage } from "./stream-codec.ts";

/** Bytes of messages one pull of the stream may put out. */
const PULL_BYTES_MAX = 4 * limits.replicationChunkBytes;
/** Messages below this size are joined into one chunk per write. */
const COALESCE_BYTES_MAX = 16 * 1024;

/** What a session needs from the leader it streams for. */
export interface SessionSource {
  readonly leaderEpoch: number;
  readonly logger: Logger;
  /** A heartbeat goes out at least this often, even while other messages flow (each one draws an ack from the follower). */
  readonly heartbeatIntervalMs: number;
  /** Times the wait for the next heartbeat. */
  readonly clock: Clock;
  /** The leader's monotonic clock (ms): the `sent_at` stamped on each write to the stream. */
  sendTimeMs(): number;
  /** The credential store's state as it is now, or undefined when this leader replicates none. */
  securitySnapshot(): SecuritySnapshot | undefined;
  /** The partition's log, or undefined when the topic is gone. */
  logOf(key: string): PartitionLogApi | undefined;
  /** Frames up to `endOffset` went out, stamped `sentAtMs`; `reachedEnd` when that was all the leader held durably. */
  noteSent(followerId: number, key: string, endOffset: number, reachedEnd: boolean, sentAtMs: number): void;
  /** The follower's stream ended (it went away, or the session was replaced or closed). */
  sessionEnded(session: StreamSession): void;
}

interface Position {
  topic: string;
  partition: number;
  nextOffset: number;
  sentHighWatermark: number;
  /** The log start last told the follower (on a high_watermarks entry); -1: not yet. */
  sentLogStart: number;
}

/**
 * One follower's replication stream (src/replication/stream-codec.ts): a
 * pull-driven ReadableStream, so it goes only as fast as the follower reads.
 * Each pull sends pending control messages (metadata, start, offsets, the
 * credential store's state when it changed), then
 * stored frames of every partition that has durable data past what was sent
 * (round robin, about PULL_BYTES_MAX in all), then high watermarks that moved,
 * then a heartbeat when one is due; with nothing to send it waits for wake()
 * or the heartbeat's due time. Every write starts with a `sent_at` stamp, the
 * time the follower echoes back (the leader's lease runs from it).
 */
export class StreamSession {
  readonly stream: ReadableStream<Uint8Array>;
  private readonly control: Uint8Array[] = [];
  private readonly positions = new Map<string, Position>();
  private wakeUp: (() => void) | undefined;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private closed = false;
  /** The credential store changed since its last snapshot went out: the next pull sends the state as it is then. */
  private securityDue = false;
  private rotation = 0;
  private lastHeartbeatMs: number;

  constructor(
    readonly id: string,
    readonly followerId: number,
    private readonly source: SessionSource,
  ) {
    this.lastHeartbeatMs = source.sendTimeMs();
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: (controller) => this.pull(controller),
        cancel: () => this.end(),
      },
      { highWaterMark: 0 },
    );
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(message: StreamMessage): void {
    if (this.closed) return;
    this.control.push(encodeMessage(message));
    this.wake();
  }

  /** The credential store changed: its state goes out with the next pull (several changes before it, one message). */
  securityChanged(): void {
    if (this.closed) return;
    this.securityDue = true;
    this.wake();
  }

  /** Streams the partition from `offset`, telling the follower to cut back to it first (`restart`: to drop its log and start again there). */
  startPartition(key: string, topic: string, partition: number, offset: number, restart = false): void {
    this.positions.set(key, { topic, partition, nextOffset: offset, sentHighWatermark: -1, sentLogStart: -1 });
    this.send({ type: "start", topic, partition, offset, ...(restart ? { restart: true } : {}) });
  }

  stopPartition(key: string): void {
    this.positions.delete(key);
  }

  wake(): void {
    const wakeUp = this.wakeUp;
    this.wakeUp = undefined;
    wakeUp?.();
  }

  /** Ends the stream now, even while nothing pulls it (the follower sees its end and reconnects). */
  close(): void {
    this.end();
    this.wake();
    closeQuietly(this.controller);
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    this.source.sessionEnded(this);
  }

  private async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    while (!this.closed) {
      const sentAtMs = this.source.sendTimeMs();
      const chunks = this.collect(sentAtMs);
      if (chunks.length > 0) {
        for (const chunk of coalesced([encodeMessage({ type: "sent_at", sentAtMs }), ...chunks])) controller.enqueue(chunk);
        return;
      }
      await this.idle(sentAtMs);
    }
    closeQuietly(controller);
  }

  /** Resolves when woken or when the next heartbeat is due. */
  private idle(nowMs: number): Promise<void> {
    const dueInMs = Math.max(0, this.lastHeartbeatMs + this.source.heartbeatIntervalMs - nowMs);
    return new Promise((resolve) => {
      const timer = this.source.clock.setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, dueInMs);
      this.wakeUp = () => {
        timer.cancel();
        resolve();
      };
    });
  }

  private collect(sentAtMs: number): Uint8Array[] {
    const out = this.control.splice(0);
    if (this.securityDue) {
      this.securityDue = false;
      const snapshot = this.source.securitySnapshot();
      if (snapshot !== undefined) out.push(encodeMessage({ type: "security", snapshot }));
    }
    let budget = PULL_BYTES_MAX;
    const moved: { topic: string; partition: number; highWatermark: number; logStartOffset: number }[] = [];
    const keys = [...this.positions.keys()];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[(i + this.rotation) % keys.length]!;
      const position = this.positions.get(key)!;
      const log = this.source.logOf(key);
      if (log === undefined || log.status !== "online") continue;
      if (position.nextOffset < log.firstSegmentOffset) {
        // Retention or DeleteRecords deleted what this follower still needed: it starts again at the first segment.
        position.nextOffset = log.firstSegmentOffset;
        position.sentHighWatermark = -1;
        position.sentLogStart = -1;
        out.push(encodeMessage({ type: "start", topic: position.topic, partition: position.partition, offset: position.nextOffset, restart: true }));
      }
      if (budget > 0 && position.nextOffset < log.durableEndOffset) {
        const sent = this.sendFrames(key, position, log, budget, sentAtMs);
        if (sent !== undefined) {
          out.push(sent);
          budget -= sent.length;
          continue;
        }
      }
      const highWatermark = log.highWatermark;
      const logStartOffset = log.earliestOffset;
      if (highWatermark !== position.sentHighWatermark || logStartOffset !== position.sentLogStart) {
        position.sentHighWatermark = highWatermark;
        position.sentLogStart = logStartOffset;
        moved.push({ topic: position.topic, partition: position.partition, highWatermark, logStartOffset });
      }
    }
    this.rotation++;
    if (moved.length > 0) out.push(encodeMessage({ type: "high_watermarks", entries: moved }));
    // Due even while data flows: the follower's ack to it renews the leader's lease when nothing else would.
    if (sentAtMs - this.lastHeartbeatMs >= this.source.heartbeatIntervalMs) {
      this.lastHeartbeatMs = sentAtMs;
      out.push(encodeMessage({ type: "heartbeat", leaderEpoch: this.source.leaderEpoch }));
    }
    return out;
  }

  private sendFrames(key: string, position: Position, log: PartitionLogApi, budget: number, sentAtMs: number): Uint8Array | undefined {
    try {
      const read = log.readFrames(position.nextOffset, Math.min(limits.replicationChunkBytes, budget));
      if (read.frames.length === 0) return undefined;
      const highWatermark = log.highWatermark;
      const message = encodeMessage({
        type: "batches",
        topic: position.topic,
        partition: position.partition,
        highWatermark,
        startsSegment: read.startsSegment,
        frames: read.frames,
      });
      position.nextOffset = read.nextOffset;
      position.sentHighWatermark = highWatermark;
      this.source.noteSent(this.followerId, key, read.nextOffset, read.nextOffset >= log.durableEndOffset, sentAtMs);
      return message;
    } catch (error) {
      // A partition that cannot be read (deleted meanwhile, offline, corrupt) is left out of this session.
      const level = isGafkaError(error) && error.code === "log_corrupt" ? "error" : "warn";
      this.source.logger[level](`replication to follower ${this.followerId}: stopped streaming ${key}: ${error instanceof Error ? error.message : error}`);
      this.positions.delete(key);
      return undefined;
    }
  }
}

/** Small messages in one chunk (one write to the socket, not one each); a large one is passed on as it is, uncopied. */
function coalesced(chunks: Uint8Array[]): Uint8Array[] {
  let small = 0;
  while (small < chunks.length && chunks[small]!.length < COALESCE_BYTES_MAX) small++;
  if (small < 2) return chunks;
  let bytes = 0;
  for (let i = 0; i < small; i++) bytes += chunks[i]!.length;
  const joined = new Uint8Array(bytes);
  let at = 0;
  for (let i = 0; i < small; i++) {
    joined.set(chunks[i]!, at);
    at += chunks[i]!.length;
  }
  return [joined, ...chunks.slice(small)];
}

function closeQuietly(controller: ReadableStreamDefaultController<Uint8Array> | undefined): void {
  try {
    controller?.close();
  } catch {
    // Already closed, or cancelled by the follower.
  }
}
