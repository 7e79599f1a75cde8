import type { Broker } from "../broker/broker.ts";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { CredentialStore } from "../security/credential-store.ts";
import type { SecuritySnapshot } from "../security/security-snapshot.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";
import { checkpointKey } from "./high-watermark-checkpoint.ts";
import type { OffsetsReplica } from "./offsets-replica.ts";
import { isHostPort } from "../core/host-port.ts";
import { peerUrl, type PeerFetch } from "./peer-client.ts";
import { type StreamRequest, streamRequestJson } from "./follower-requests.ts";
import type { LeaderFacts } from "./replication-state.ts";
import { StreamDecoder, type StreamMessage, type TopicInfo } from "./stream-codec.ts";

/** No message (a heartbeat comes at least every second) for this long: the stream is dead, reconnect. */
const STREAM_SILENCE_MS_MAX = 5000;
const RECONNECT_BACKOFF_MS_MIN = 100;
const RECONNECT_BACKOFF_MS_MAX = 1000;
/** Appends awaiting their fsync before the follower stops reading the stream (bounded memory). */
const APPENDS_IN_FLIGHT_MAX = 256;
const ACK_TIMEOUT_MS = 5000;
const LEAVE_TIMEOUT_MS = 1000;

export interface FollowerFetcherOptions {
  broker: Broker;
  clock: Clock;
  logger: Logger;
  followerId: number;
  /** How the leader (and `gafka admin cluster`) reaches this broker. */
  advertisedAddress: string;
  /** Where Kafka clients reach this broker, told to the leader; undefined: its Kafka door is off. */
  kafkaAddress: string | undefined;
  leaderAddress: string;
  /** The newest leader epoch this broker knows. */
  leaderEpoch: () => number;
  /** This broker's cluster id; null before it first heard from a leader. */
  clusterId: () => string | null;
  /** The leader's cluster id, first thing on every stream: rejects when it is another cluster's (then nothing of the stream is applied). */
  onClusterId: (clusterId: string) => Promise<void>;
  /** The leader's epoch, id, followers and settings as its stream states them (persisted when they are news). */
  onLeader: (epoch: number, leaderId: number, followers: { id: number; address: string }[], facts: LeaderFacts | null) => Promise<void>;
  /** The leader answered 421: it follows someone else now, at `address`. */
  onRedirect: (address: string) => Promise<void>;
  /** Each metadata message, for the Kafka addresses it carries (kafka-cluster.ts). */
  onLeaderMetadata?: (message: Extract<StreamMessage, { type: "metadata" }>) => void;
  offsets: OffsetsReplica | undefined;
  /** Where the leader's users, tokens and ACLs are adopted; none: its security messages are ignored. */
  credentials: Pick<CredentialStore, "version" | "snapshot" | "adopt"> | undefined;
  /** The leader's cleaner checkpoint of a partition (src/broker/replicated-passes.ts). */
  onCleanerPasses: (message: Extract<StreamMessage, { type: "cleaner_passes" }>) => void;
  fetch: PeerFetch;
}

export interface FetcherStatus {
  leader: string;
  connected: boolean;
  /**
   * Monotonic ms (the injected clock) of the last message from the leader —
   * each part of the stream as it arrives, and the stream's opening answer;
   * 0 before any. A promotion waits out the leader's lease from here.
   */
  lastMessageMs: number;
  /** The leader's `sent_at` stamp (the leader's clock) of the newest message received on the current stream; null before any. */
  leaderSentAtMs: number | null;
  lastError: string | undefined;
}

/**
 * A follower's one long-lived stream from its leader (stream-codec.ts):
 * it sends its partitions' log ends and epochs, cuts each log back where the
 * leader says it diverged, appends the leader's stored frames unchanged
 * (PartitionLog.appendFrames checks both checksums and that offsets run on),
 * takes the leader's high watermark as its readers' bound, mirrors topic
 * creation/deletion, committed group offsets and the credential store
 * (users, tokens, ACLs: adopted whole), and reports each
 * partition's durable position, and the offsets stream's position once its
 * commits are durable here, back with a small POST (one in flight,
 * coalesced). On any failure it reconnects with backoff and resumes from its
 * own log end.
 */
export class FollowerFetcher {
  private stopped = false;
  private current: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly appending = new Set<Promise<unknown>>();
  private failure: unknown;
  private sessionId: string | undefined;
  private readonly logs = new Map<string, { topic: string; partition: number; log: PartitionLogApi }>();
  private readonly unacked = new Map<string, { topic: string; partition: number; offset: number }>();
  /** Each partition's log start as the leader last said: followed as far as this log reaches. */
  private readonly leaderLogStarts = new Map<string, number>();
  /** The offsets stream's position this follower holds durably and has not reported yet. */
  private unackedOffsetsSequence: number | undefined;
  private ackInFlight: Promise<void> | undefined;
  /** Ends a position report in flight when the fetcher stops: a stop never waits on an unreachable leader. */
  private readonly acksAbort = new AbortController();
  private connected = false;
  private lastMessageMs = 0;
  /** The newest `sent_at` the current stream carried (the leader's clock), echoed in every ack; undefined before one. */
  private leaderSentAtMs: number | undefined;
  /** A heartbeat asked for an ack: one goes out even with no new durable position. */
  private echoDue = false;
  private lastError: string | undefined;
  /** The last error was this broker failing to append (disk full...): it stays reported until an append succeeds. */
  private lastErrorLocal = false;
  private endBackoff: (() => void) | undefined;

  constructor(private readonly options: FollowerFetcherOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Ends the stream and waits until every append it started is durable (or
   * failed). With `leaving` (a clean shutdown), tells the leader, so this
   * follower leaves the in-sync set at once instead of holding the high
   * watermark until --replica-lag-max passes (as a crashed follower does).
   * Never when stopping to be promoted: the old leader would then
   * acknowledge acks=all writes alone, which the promotion then cuts off.
   */
  async stop(options: { leaving: boolean }): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    this.endBackoff?.();
    this.acksAbort.abort();
    await this.loop;
    await Promise.allSettled([...this.appending]);
    await this.ackInFlight;
    if (!options.leaving || this.sessionId === undefined) return;
    try {
      const response = await this.options.fetch(`${peerUrl(this.options.leaderAddress)}/api/v1/replication/ack`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ follower_id: this.options.followerId, session: this.sessionId, positions: [], leaving: true }),
        signal: AbortSignal.timeout(LEAVE_TIMEOUT_MS),
      });
      await response.arrayBuffer();
    } catch {
      // The leader is gone or slow: it drops this follower after --replica-lag-max instead.
    }
  }

  status(): FetcherStatus {
    return {
      leader: this.options.leaderAddress,
      connected: this.connected,
      lastMessageMs: this.lastMessageMs,
      leaderSentAtMs: this.leaderSentAtMs ?? null,
      lastError: this.lastError,
    };
  }

  /**
   * This broker's monotonic ms when the last message from the leader
   * arrived (0 before any). The leader's lease runs from the send time of a
   * message this follower echoed, which is no later than this: once the
   * lease period (plus a margin) has passed since it, the leader no longer
   * acts as leader on this follower's account.
   */
  get lastLeaderMessageMs(): number {
    return this.lastMessageMs;
  }

  private async run(): Promise<void> {
    let backoffMs = RECONNECT_BACKOFF_MS_MIN;
    while (!this.stopped) {
      try {
        await this.session();
        backoffMs = RECONNECT_BACKOFF_MS_MIN;
      } catch (error) {
        if (this.stopped) break;
        const cause = this.failure ?? error;
        const message = cause instanceof Error ? cause.message : String(cause);
        if (message !== this.lastError) this.options.logger.warn(`replication from ${this.options.leaderAddress}: ${message}; reconnecting`);
        this.lastError = message;
        this.lastErrorLocal = this.failure !== undefined;
      } finally {
        this.connected = false;
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        const timer = this.options.clock.setTimeout(resolve, backoffMs);
        this.endBackoff = () => {
          timer.cancel();
          resolve();
        };
      });
      this.endBackoff = undefined;
      backoffMs = Math.min(backoffMs * 2, RECONNECT_BACKOFF_MS_MAX);
    }
  }

  private async session(): Promise<void> {
    // What the last stream left in flight settles first, so the log ends reported below are exact.
    await Promise.allSettled([...this.appending]);
    this.failure = undefined;
    const abort = new AbortController();
    this.current = abort;
    if (this.stopped) return;
    const response = await this.options.fetch(`${peerUrl(this.options.leaderAddress)}/api/v1/replication/stream`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(streamRequestJson(this.streamRequest())),
      signal: abort.signal,
    });
    if (response.status === 421) {
      const leader = ((await response.json().catch(() => ({}))) as { error?: { leader?: unknown } }).error?.leader;
      if (typeof leader === "string" && isHostPort(leader) && leader !== this.options.leaderAddress) {
        this.options.logger.info(`${this.options.leaderAddress} is not the leader; following ${leader}`);
        await this.options.onRedirect(leader);
        return;
      }
      throw new Error(`${this.options.leaderAddress} is not the leader and names no other`);
    }
    if (!response.ok || response.body === null) {
      // Only the status: the body is the peer's to choose, and this message is shown at /api/v1/replication/status.
      const code = response.status === 409 ? ((await response.json().catch(() => ({}))) as { error?: { code?: unknown } }).error?.code : undefined;
      await response.body?.cancel().catch(() => undefined);
      // A reason this broker chooses, for the one refusal an operator must act on.
      throw new Error(refusalReason(response.status, code));
    }
    this.connected = true;
    if (!this.lastErrorLocal) {
      this.options.logger.info(`replicating from ${this.options.leaderAddress}`);
      this.lastError = undefined;
    }
    this.lastMessageMs = this.options.clock.monotonicMs();
    this.leaderSentAtMs = undefined; // a stamp is an echo for this stream only
    const watchdog = this.options.clock.setInterval(() => {
      if (this.options.clock.monotonicMs() - this.lastMessageMs > STREAM_SILENCE_MS_MAX) abort.abort(new Error("the leader went silent"));
    }, 1000);
    try {
      const decoder = new StreamDecoder();
      const reader = response.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the leader ended the stream");
        this.lastMessageMs = this.options.clock.monotonicMs();
        for (const message of decoder.push(value)) {
          if (this.failure !== undefined) throw this.failure;
          await this.apply(message);
        }
      }
    } finally {
      watchdog.cancel();
      abort.abort();
    }
  }

  /** This broker's partitions as the leader needs them to decide where each stream starts. */
  private streamRequest(): StreamRequest {
    const partitions: StreamRequest["partitions"] = [];
    for (const entry of this.options.broker.partitionEntries()) {
      const log = entry.log;
      const available = log !== undefined && log.status === "online";
      partitions.push({
        topic: entry.topic,
        topicCreatedAtMs: entry.topicCreatedAtMs,
        partition: entry.partition,
        logEndOffset: available ? log.logEndOffset : null,
        durableEndOffset: available ? log.durableEndOffset : 0,
        epochs: available ? [...log.leaderEpochs.entries()] : [],
      });
    }
    return {
      followerId: this.options.followerId,
      address: this.options.advertisedAddress,
      kafkaAddress: this.options.kafkaAddress,
      leaderEpoch: this.options.leaderEpoch(),
      clusterId: this.options.clusterId(),
      partitions,
    };
  }

  private async apply(message: StreamMessage): Promise<void> {
    switch (message.type) {
      case "metadata": {
        if (message.leaderEpoch < this.options.leaderEpoch()) {
          throw new Error(`${this.options.leaderAddress} leads under epoch ${message.leaderEpoch}, older than ${this.options.leaderEpoch()}: it was deposed`);
        }
        const facts =
          message.minInsyncReplicas === undefined || message.replicaLagMaxMs === undefined
            ? null
            : { minInsyncReplicas: message.minInsyncReplicas, replicas: Math.max(message.replicas ?? 0, 1 + message.followers.length), replicaLagMaxMs: message.replicaLagMaxMs };
        await this.options.onClusterId(message.clusterId);
        await this.options.onLeader(message.leaderEpoch, message.leaderId, message.followers, facts);
        this.options.onLeaderMetadata?.(message);
        if (message.session !== this.sessionId) {
          this.unacked.clear();
          this.unackedOffsetsSequence = undefined;
        }
        this.sessionId = message.session;
        await this.reconcileTopics(message.topics);
        // Heard at once, not a heartbeat later: a new stream renews the leader's lease straight away.
        this.echoDue = true;
        this.ackInFlight ??= this.sendAcks();
        return;
      }
      case "start": {
        const log = this.logOf(message.topic, message.partition);
        if (message.restart === true) {
          this.options.logger.warn(
            `${checkpointKey(message.topic, message.partition)}: the leader's log begins at ${message.offset}, past where this copy agrees with it: starting again there`,
          );
          await log.restartAt(message.offset);
          return;
        }
        if (log.logEndOffset > message.offset) {
          this.options.logger.warn(
            `${checkpointKey(message.topic, message.partition)}: dropping offsets ${message.offset}..${log.logEndOffset - 1}, which the leader does not have`,
          );
          await log.truncateTo(message.offset);
        } else if (log.logEndOffset < message.offset) {
          throw new Error(`the leader starts ${checkpointKey(message.topic, message.partition)} at ${message.offset}, past this log's end ${log.logEndOffset}`);
        }
        return;
      }
      case "batches": {
        const log = this.logOf(message.topic, message.partition);
        const key = checkpointKey(message.topic, message.partition);
        const appended = this.options.broker.appendAsFollower(message.topic, message.partition, message.frames, message.startsSegment).then(
          () => {
            this.durable(key, message.topic, message.partition, log.durableEndOffset);
            this.applyLogStart(key, log);
          },
          (error: unknown) => {
            this.failure ??= error;
            this.current?.abort();
          },
        );
        this.appending.add(appended);
        void appended.finally(() => this.appending.delete(appended));
        log.setHighWatermarkLimit(message.highWatermark);
        if (this.appending.size >= APPENDS_IN_FLIGHT_MAX) await Promise.race(this.appending);
        return;
      }
      case "high_watermarks":
        for (const entry of message.entries) {
          const log = this.findLog(entry.topic, entry.partition);
          log?.setHighWatermarkLimit(entry.highWatermark);
          if (log !== undefined && entry.logStartOffset !== undefined) this.followLogStart(checkpointKey(entry.topic, entry.partition), log, entry.logStartOffset);
        }
        return;
      case "offsets":
        if (this.options.offsets === undefined) return;
        // Awaited: durable here before the next message, and before the leader hears it is held.
        await this.options.offsets.apply(message.snapshot, message.entries);
        this.unackedOffsetsSequence = message.sequence;
        this.ackInFlight ??= this.sendAcks();
        return;
      case "sent_at":
        this.leaderSentAtMs = message.sentAtMs;
        return;
      case "security":
        await this.adoptSecurity(message.snapshot);
        return;
      case "cleaner_passes":
        return this.options.onCleanerPasses(message);
      case "heartbeat":
        // Answered with an ack even when idle: the echo keeps the leader's lease and this follower's in-sync state.
        this.echoDue = true;
        this.ackInFlight ??= this.sendAcks();
        return;
    }
  }

  /**
   * Makes the credential store the leader's, durably, before the next
   * message is applied (so an older snapshot never overwrites a newer one),
   * whenever it differs: another version, newer or older (the leader is the
   * source of truth), or the same version with other contents (a deposed
   * leader's change that never reached the new leader). A snapshot that does
   * not check out throws: a stream error, shown in the status.
   */
  private async adoptSecurity(snapshot: SecuritySnapshot): Promise<void> {
    const store = this.options.credentials;
    if (store === undefined) return;
    if (snapshot.state_version === store.version && JSON.stringify(snapshot) === JSON.stringify(store.snapshot())) return;
    const held = store.version;
    await store.adopt(snapshot);
    this.options.logger.info(`users, tokens and ACLs: adopted the leader's version ${snapshot.state_version} (held ${held})`);
  }

  /**
   * Makes the local topics the leader's: creates, deletes, recreates a topic
   * whose creation time differs, and takes a topic's settings when they
   * differ (each durable in topics.json before the next).
   */
  private async reconcileTopics(topics: TopicInfo[]): Promise<void> {
    const broker = this.options.broker;
    const local = new Map(broker.topicMetadata().map((metadata) => [metadata.name, metadata]));
    for (const topic of topics) {
      const mine = local.get(topic.name);
      local.delete(topic.name);
      if (mine !== undefined && mine.createdAtMs === topic.createdAtMs && mine.partitionCount === topic.partitions) {
        if (!sameConfigs(mine.configs, topic.configs)) await broker.setTopicConfigsAsFollower(topic.name, topic.configs);
        continue;
      }
      if (mine !== undefined) await broker.deleteTopicAsFollower(topic.name);
      await broker.createTopicAsFollower(topic.name, topic.partitions, topic.createdAtMs, topic.configs);
    }
    for (const name of local.keys()) await broker.deleteTopicAsFollower(name);
    this.logs.clear();
    for (const entry of broker.partitionEntries()) {
      if (entry.log !== undefined) this.logs.set(checkpointKey(entry.topic, entry.partition), { topic: entry.topic, partition: entry.partition, log: entry.log });
    }
  }

  /** The leader's log start moved (retention, DeleteRecords): this log follows, deleting the same segments. */
  private followLogStart(key: string, log: PartitionLogApi, leaderLogStart: number): void {
    this.leaderLogStarts.set(key, leaderLogStart);
    this.applyLogStart(key, log);
  }

  /** Moves this log's start up to the leader's, at most to this log's end (the rest follows as the frames arrive). */
  private applyLogStart(key: string, log: PartitionLogApi): void {
    const leaderLogStart = this.leaderLogStarts.get(key);
    if (leaderLogStart === undefined) return;
    const target = Math.min(leaderLogStart, log.logEndOffset);
    if (target <= log.earliestOffset) return;
    try {
      log.advanceLogStart(target, "following the leader's log start");
    } catch (error) {
      this.options.logger.warn(`${key}: could not follow the leader's log start ${leaderLogStart}: ${error instanceof Error ? error.message : error}`);
    }
  }

  private findLog(topic: string, partition: number): PartitionLogApi | undefined {
    return this.logs.get(checkpointKey(topic, partition))?.log;
  }

  private logOf(topic: string, partition: number): PartitionLogApi {
    const log = this.findLog(topic, partition);
    if (log === undefined) throw new Error(`the leader sent ${checkpointKey(topic, partition)}, which this broker does not hold`);
    return log;
  }

  /** Records a durable position and reports it (one report in flight; later ones coalesce). */
  private durable(key: string, topic: string, partition: number, offset: number): void {
    if (this.lastErrorLocal) {
      this.options.logger.info(`replicating from ${this.options.leaderAddress} again`);
      this.lastError = undefined;
      this.lastErrorLocal = false;
    }
    this.unacked.set(key, { topic, partition, offset });
    this.ackInFlight ??= this.sendAcks();
  }

  private async sendAcks(): Promise<void> {
    while ((this.unacked.size > 0 || this.unackedOffsetsSequence !== undefined || this.echoDue) && !this.stopped) {
      const positions = [...this.unacked.values()];
      const offsetsSequence = this.unackedOffsetsSequence;
      this.unacked.clear();
      this.unackedOffsetsSequence = undefined;
      this.echoDue = false;
      try {
        const response = await this.options.fetch(`${peerUrl(this.options.leaderAddress)}/api/v1/replication/ack`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ follower_id: this.options.followerId, session: this.sessionId, positions, offsets_sequence: offsetsSequence, sent_at: this.leaderSentAtMs }),
          signal: AbortSignal.any([AbortSignal.timeout(ACK_TIMEOUT_MS), this.acksAbort.signal]),
        });
        await response.arrayBuffer();
      } catch (error) {
        // The stream notices a dead leader; the next session starts from the log ends anyway.
        this.options.logger.debug(`reporting positions to ${this.options.leaderAddress} failed`, error);
      }
    }
    this.ackInFlight = undefined;
  }
}

/** Why the leader refused the stream, in words this broker chooses (the body is the peer's): the refusals an operator must act on are named. */
function refusalReason(status: number, code: unknown): string {
  if (status === 409 && code === "cluster_id_mismatch") return "the leader belongs to another cluster (409 cluster_id_mismatch)";
  if (status === 401) return "the leader refused this broker's credentials (401 unauthenticated): both brokers need the same --cluster-secret-file";
  if (status === 403) return "the leader refused this broker (403 forbidden)";
  if (status === 429) return "the leader has no free follower slot (429 too_many_requests); retrying until one expires";
  return `the leader answered ${status}`;
}

function sameConfigs(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((name) => a[name] === b[name]);
}
