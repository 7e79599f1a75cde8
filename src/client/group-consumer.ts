import { hostname } from "node:os";
import { limits } from "../core/limits.ts";
import { GafkaClientError } from "./client-error.ts";
import { acceptFor, decodeRecord, type ConsumerRecord, type Decoded, type PollOptions, type ValueEncoding } from "./consumer.ts";
import { HttpClient, type ClientOptions } from "./http-client.ts";
import { decodeBatchAnswer } from "./record-batch-answer.ts";
import { partitionKey, type TopicPartition, type TopicPartitionOffset } from "./topic-partition.ts";
import type { RecordFormat, WireCommitAnswer, WireGroupConsumeAnswer, WireMembership } from "./wire.ts";

export type AssignorName = "round-robin" | "sticky";

export interface GroupConsumerOptions<E extends ValueEncoding = "utf8"> extends ClientOptions {
  groupId: string;
  /** This member's id, 1–128 of `[A-Za-z0-9._-]`. Default `<hostname>-<pid>-<random>`. */
  consumerId?: string;
  /** The topics to consume: a name, `a,b`, or a list. */
  topics: string | string[];
  /** Chosen at join; the broker drops the member after this long without a sign of life. Broker default 10 s. */
  sessionTimeoutMs?: number;
  /** The group's assignor, chosen by its first member. Default `round-robin`. */
  assignor?: AssignorName;
  /** Default: a third of the session timeout. */
  heartbeatIntervalMs?: number;
  /** Most records one poll returns. Default 100. */
  maxRecords?: number;
  /** Long-poll wait of each poll made by `for await`. Default (and at most) 30 s. */
  waitMs?: number;
  /** `binary` gives keys, values and header values as Uint8Array. Default `utf8`. */
  encoding?: E;
  /**
   * How records travel: `batch` (default) asks for Kafka RecordBatch v2 bytes
   * and reads JSON when that is what comes back; `json` asks for JSON. The
   * records handed out are the same either way.
   */
  format?: RecordFormat;
  /**
   * Kafka's auto-commit (`enable.auto.commit`, `auto.commit.interval.ms`):
   * polls commit nothing (`commit=none`), so no poll waits for an offsets
   * fsync, and what earlier polls handed out is committed in the background
   * by the first poll after this many ms. Undefined (the default): every poll
   * acknowledges the batch before it, durably, before it is answered. With
   * it, a member that dies or loses its partitions hands the records since
   * its last commit (up to this interval of them) to the next owner again.
   */
  autoCommitIntervalMs?: number;
}

/** What the broker last told this member about its group. */
export interface Membership {
  groupId: string;
  consumerId: string;
  generation: number;
  /** The partitions this member owns in `generation`, sorted. */
  assignment: TopicPartition[];
  sessionTimeoutMs: number;
  /** The leader epoch of the coordinator that answered (0 from a broker without replication). */
  leaderEpoch: number;
}

export interface GroupCloseOptions {
  /**
   * Commit the last batch handed out before leaving. Pass it when that batch
   * was processed (a loop that stops after handling it); without it, those
   * records go to the partition's next owner again.
   */
  commit?: boolean;
}

/** 409s and re-joins one call rides out before it gives up: each one means the group changed under it. */
const REBALANCE_RETRIES_MAX = 10;

/**
 * A member of a consumer group (docs/api.md "Consumer groups"). The broker
 * assigns it partitions and keeps the group's offsets; this class joins,
 * heartbeats in the background at a third of the session timeout, long-polls
 * across every partition it owns, and follows rebalances.
 *
 * Acknowledgement: the records of a batch are committed when the consumer
 * asks for the next batch (the broker commits them at the start of that
 * consume call), or earlier by `commit()`. In `for await (const batch of
 * consumer)` that is when the loop body finishes and the loop comes round.
 * Records handed out and not acknowledged when the member dies or leaves go
 * to the partition's next owner again: delivery is at-least-once, and
 * nothing is skipped, because the consumer never keeps positions of its
 * own — a member that re-joins starts where the group's commits say.
 *
 * Rebalances: a 409 (`stale_generation`, `partition_not_owned`) carries the
 * current generation and assignment, and the call is made again with them; a
 * 404 `unknown_member` (the session expired) makes the consumer join again.
 * A consume answer lost on the way (network error, timeout) may have handed
 * out records that never arrived, so the consumer leaves and joins again —
 * the broker forgets what it handed to a member that left — rather than let
 * its next call acknowledge records nobody saw.
 *
 * A broker that restarts or fails over is ridden out under the client's
 * retry policy (src/client/retry.ts: backoff with jitter until
 * `retryDeadlineMs`): the consumer rejoins (a restarted broker no longer
 * knows the member, so it joins anew) and reads on from the group's
 * committed offsets, so the batch it was handed last and had not
 * acknowledged comes again (at-least-once).
 *
 * Leader epochs: every membership answer says under which leader epoch its
 * coordinator led. The consumer keeps the highest it has seen and drops an
 * answer with a lower one — a deposed leader's coordinator may still be
 * answering — as if it owned nothing: no records of it are handed out, and
 * it joins again (under the retry policy) until a current coordinator answers.
 *
 * Leaving the `for await` loop (break, return, an error) leaves the group as
 * `close()` does, without committing the batch in hand.
 *
 * With `autoCommitIntervalMs` the polls acknowledge nothing: the consumer
 * keeps the positions it handed out and commits them in the background at
 * that interval, and `commit()` or `close({ commit: true })` commits them at
 * once (Kafka's model; see the option for what it trades). It also fetches
 * ahead, as Kafka's consumer does: the next consume call goes out when a
 * poll returns, and a poll that may not wait for it returns nothing.
 */
export class GroupConsumer<E extends ValueEncoding = "utf8"> implements AsyncIterable<ConsumerRecord<Decoded<E>>[]> {
  readonly groupId: string;
  readonly consumerId: string;
  readonly topics: readonly string[];
  private readonly http: HttpClient;
  private readonly sessionTimeoutMs: number | undefined;
  private readonly assignor: AssignorName | undefined;
  private readonly heartbeatIntervalMs: number | undefined;
  private readonly maxRecords: number;
  private readonly waitMs: number;
  private readonly encoding: ValueEncoding;
  private readonly accept: string | undefined;
  private readonly closing = new AbortController();
  private closingDone: Promise<void> | undefined;
  private current: Membership | undefined;
  /** The highest leader epoch any membership answer carried; answers under a lower one are a deposed coordinator's. */
  private leaderEpochSeen = -1;
  /** A join or consume call was sent since the last leave: the broker may know this member. */
  private mayBeMember = false;
  /** The broker may hold deliveries that never reached us: leave before joining again. */
  private mustLeaveFirst = false;
  /** Per partition, the offset after the last record handed out and not yet acknowledged. */
  private readonly unacknowledged = new Map<string, TopicPartitionOffset>();
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private heartbeatTimerMs = 0;
  private heartbeatInFlight = false;
  private readonly autoCommitIntervalMs: number | undefined;
  /** performance.now() of the last background commit. */
  private lastAutoCommitMs = performance.now();
  private autoCommitting: Promise<void> | undefined;
  /** With autoCommitIntervalMs: the consume call sent when the last poll returned, for the next poll. */
  private fetchedAhead: { records: Promise<ConsumerRecord<Decoded<E>>[]>; settled: boolean } | undefined;
  /** Records a call ahead brought beyond the `maxRecords` of the poll that took them: the next poll's, first. */
  private fetchedOver: ConsumerRecord<Decoded<E>>[] = [];

  constructor(options: GroupConsumerOptions<E>) {
    this.http = options.transport ?? new HttpClient(options);
    this.groupId = options.groupId;
    this.consumerId = options.consumerId ?? defaultConsumerId();
    this.topics = (typeof options.topics === "string" ? options.topics.split(",") : options.topics).filter((topic) => topic !== "");
    if (this.topics.length === 0) throw new GafkaClientError("invalid_request", "a group consumer needs at least one topic");
    this.sessionTimeoutMs = options.sessionTimeoutMs;
    this.assignor = options.assignor;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs;
    this.maxRecords = options.maxRecords ?? limits.consumeCountDefault;
    this.waitMs = Math.min(options.waitMs ?? limits.fetchWaitMsMax, limits.fetchWaitMsMax);
    this.encoding = options.encoding ?? "utf8";
    this.accept = acceptFor(options.format);
    if (options.autoCommitIntervalMs !== undefined && !(options.autoCommitIntervalMs >= 0)) {
      throw new GafkaClientError("invalid_request", "autoCommitIntervalMs must be 0 or more");
    }
    this.autoCommitIntervalMs = options.autoCommitIntervalMs;
  }

  get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /** The generation and assignment as of the last answer; undefined before joining or after the session was lost. */
  membership(): Membership | undefined {
    return this.current;
  }

  /** Joins the group (a poll joins by itself) and starts the heartbeat. */
  async join(): Promise<Membership> {
    this.checkOpen();
    if (this.mustLeaveFirst) await this.leave(this.closing.signal);
    this.mayBeMember = true;
    const answer = await this.http.request<WireMembership>("POST", this.memberPath(), {
      body: { topics: this.topics, session_timeout_ms: this.sessionTimeoutMs, assignor: this.assignor },
      idempotent: true, // joining twice with the same topics changes nothing
      signal: this.closing.signal,
    });
    this.adopt(answer);
    this.startHeartbeat(answer.session_timeout_ms);
    return this.current!;
  }

  /**
   * Acknowledges the batch handed out before (the broker commits it; with
   * autoCommitIntervalMs nothing is committed by the poll, and a background
   * commit starts when the interval has passed), then answers as soon as
   * any owned partition has records, or with an empty list once `waitMs`
   * passes, the assignment changes, or the consumer is closed.
   */
  async poll(options: PollOptions = {}): Promise<ConsumerRecord<Decoded<E>>[]> {
    this.checkOpen();
    const waitMs = Math.min(Math.max(0, options.waitMs ?? 0), limits.fetchWaitMsMax);
    const maxRecords = options.maxRecords ?? this.maxRecords;
    this.autoCommitIfDue();
    let records: ConsumerRecord<Decoded<E>>[];
    const ahead = this.fetchedAhead;
    if (this.fetchedOver.length > 0) {
      // Records a call ahead brought beyond what the poll that took them asked for; not those of partitions taken away since.
      const owned = new Set((this.current?.assignment ?? []).map(partitionKey));
      records = this.fetchedOver.filter((record) => owned.has(partitionKey(record)));
      this.fetchedOver = [];
    } else if (ahead !== undefined) {
      // The call sent when the last poll returned: its records, or none yet if it takes longer than this poll may wait.
      if (!ahead.settled && !(await settlesWithin(ahead.records, waitMs))) return [];
      this.fetchedAhead = undefined;
      records = await ahead.records;
    } else {
      records = await this.fetch(maxRecords, waitMs);
    }
    if (this.closed) return [];
    if (records.length > maxRecords) {
      this.fetchedOver = records.slice(maxRecords);
      records = records.slice(0, maxRecords);
    }
    this.handOut(records);
    if (this.autoCommitIntervalMs !== undefined && this.fetchedOver.length === 0) this.fetchAhead(maxRecords, waitMs);
    return records;
  }

  /**
   * Kafka's consumer fetches ahead: with autoCommitIntervalMs (a consume
   * call acknowledges nothing) the next call goes out as soon as a poll
   * returns, and waits at the broker while the caller processes these records.
   */
  private fetchAhead(maxRecords: number, waitMs: number): void {
    const ahead = { records: this.fetch(maxRecords, waitMs), settled: false };
    const settle = () => {
      ahead.settled = true;
    };
    ahead.records.then(settle, settle); // a failure reaches the next poll, which awaits it
    this.fetchedAhead = ahead;
  }

  /** Notes where the records handed to the caller end; on-poll commits acknowledge the batch before. */
  private handOut(records: readonly ConsumerRecord<Decoded<E>>[]): void {
    if (this.autoCommitIntervalMs === undefined) this.unacknowledged.clear(); // this call acknowledged them
    // Records come in runs of one partition: the last of each run says where the next begins.
    for (let index = 0; index < records.length; index++) {
      const record = records[index]!;
      const next = records[index + 1];
      if (next !== undefined && next.partition === record.partition && next.topic === record.topic) continue;
      this.unacknowledged.set(partitionKey(record), { topic: record.topic, partition: record.partition, offset: record.offset + 1 });
    }
  }

  /** One group consume call, riding out rebalances and lost answers; the records it brought (none once closed). */
  private async fetch(maxRecords: number, waitMs: number): Promise<ConsumerRecord<Decoded<E>>[]> {
    let rebalances = 0;
    const retries = this.http.retryPolicy.start();
    for (;;) {
      try {
        const membership = this.current ?? (await this.join());
        const answer = await this.http.exchange<WireGroupConsumeAnswer>("GET", "/api/v1/consume", {
          query: {
            topic: this.topics.join(","),
            group_id: this.groupId,
            consumer_id: this.consumerId,
            generation: membership.generation,
            count: maxRecords,
            timeout: `${waitMs}ms`,
            session_timeout_ms: this.sessionTimeoutMs,
            assignor: this.assignor,
            value_encoding: this.encoding === "binary" ? "base64" : undefined,
            commit: this.autoCommitIntervalMs === undefined ? undefined : "none",
          },
          waitMs,
          // Never resent as is: a second call would acknowledge what the lost answer carried.
          idempotent: false,
          accept: this.accept,
          signal: this.closing.signal,
        });
        // Closed meanwhile: these records are not handed out; leaving makes the broker forget them.
        if (this.closed) return [];
        let records: ConsumerRecord<Decoded<E>>[];
        if (answer.kind === "bytes") {
          const decoded = decodeBatchAnswer<WireGroupConsumeAnswer, E>(answer.bytes, this.encoding);
          this.adopt(decoded.header);
          records = decoded.records;
        } else {
          this.adopt(answer.json);
          records = answer.json.records.map((record) => decodeRecord<E>(record.topic, record, this.encoding));
        }
        return records;
      } catch (error) {
        if (this.closed) return [];
        if (!(error instanceof GafkaClientError)) throw error;
        if (isRebalance(error) && rebalances++ < REBALANCE_RETRIES_MAX) {
          this.adoptConflict(error);
          continue;
        }
        // A lost answer, or one that could not be read (a corrupt batch), may have handed out records
        // nobody saw: the next call must not acknowledge them, so leave and join again first.
        if (isLostAnswer(error) || error.code === "invalid_response") this.forgetMembership(true);
        try {
          await retries.wait(error, this.closing.signal); // throws what may not be retried, or once the deadline has passed
        } catch (final) {
          if (this.closed) return [];
          throw final;
        }
      }
    }
  }

  /**
   * Commits the batch handed out last (what the next poll would acknowledge;
   * with autoCommitIntervalMs, everything handed out) now, as `POST /api/v1/consumer-groups/{group}/offsets` with this member's
   * id and generation. Partitions taken away since then are left out (their
   * new owner gets those records again); the answer lists what was committed.
   * Rejects with `unknown_member` when the session was lost. Call it between
   * polls, not while one is in flight (with autoCommitIntervalMs, when a
   * consume call is always out ahead, any time: such a commit never moves
   * where the member reads).
   */
  async commit(): Promise<TopicPartitionOffset[]> {
    this.checkOpen();
    return this.commitUnacknowledged(this.closing.signal);
  }

  /** Long-polls forever, yielding each non-empty batch, until `close()`; leaving the loop leaves the group. */
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerRecord<Decoded<E>>[]> {
    try {
      while (!this.closed) {
        const records = await this.poll({ waitMs: this.waitMs });
        if (records.length > 0) yield records;
      }
    } finally {
      await this.close();
    }
  }

  /**
   * Stops the heartbeat, ends a poll in flight (it answers an empty list),
   * optionally commits the last batch, and leaves the group, so the others
   * take its partitions over at once. Never rejects: when the broker cannot
   * be reached, the session runs out instead.
   */
  close(options: GroupCloseOptions = {}): Promise<void> {
    this.closingDone ??= this.shutdown(options.commit ?? false);
    return this.closingDone;
  }

  private async shutdown(commit: boolean): Promise<void> {
    this.closing.abort();
    this.stopHeartbeat();
    await this.autoCommitting;
    if (!this.mayBeMember) return;
    // Past the session timeout the broker has dropped the member anyway.
    const signal = AbortSignal.timeout(this.current?.sessionTimeoutMs ?? this.sessionTimeoutMs ?? limits.sessionTimeoutMsDefault);
    try {
      if (commit) await this.commitUnacknowledged(signal);
    } catch {
      // Not committed: the records go to the next owner again (at-least-once).
    }
    try {
      await this.leave(signal);
    } catch {
      // Unreachable: the broker drops the member when its session runs out.
    }
  }

  /**
   * With autoCommitIntervalMs: once the interval has passed, commits what
   * earlier polls handed out, without waiting. A failure is left for the
   * next one (a rebalance makes the partition's new owner start from the
   * last commit: at-least-once).
   */
  private autoCommitIfDue(): void {
    if (this.autoCommitIntervalMs === undefined || this.autoCommitting !== undefined || this.unacknowledged.size === 0) return;
    if (performance.now() - this.lastAutoCommitMs < this.autoCommitIntervalMs) return;
    this.lastAutoCommitMs = performance.now();
    this.autoCommitting = this.commitUnacknowledged(this.closing.signal).then(
      () => {
        this.autoCommitting = undefined;
      },
      () => {
        this.autoCommitting = undefined;
      },
    );
  }

  private async commitUnacknowledged(signal: AbortSignal): Promise<TopicPartitionOffset[]> {
    for (let rebalances = 0; ; rebalances++) {
      const membership = this.current;
      if (membership === undefined) return [];
      const owned = new Set(membership.assignment.map(partitionKey));
      for (const key of this.unacknowledged.keys()) if (!owned.has(key)) this.unacknowledged.delete(key);
      const offsets = [...this.unacknowledged.values()];
      if (offsets.length === 0) return [];
      try {
        const answer = await this.http.request<WireCommitAnswer>("POST", `${this.groupPath()}/offsets`, {
          body: { consumer_id: this.consumerId, generation: membership.generation, offsets },
          signal,
        });
        for (const offset of offsets) {
          const key = partitionKey(offset);
          if (this.unacknowledged.get(key)?.offset === offset.offset) this.unacknowledged.delete(key);
        }
        return answer.committed;
      } catch (error) {
        if (!(error instanceof GafkaClientError) || !isRebalance(error) || rebalances >= REBALANCE_RETRIES_MAX) throw error;
        if (isMembershipLost(error)) {
          this.forgetMembership(false);
          throw error;
        }
        this.adoptConflict(error);
      }
    }
  }

  /** DELETE the member; one the broker no longer knows has left already. */
  private async leave(signal: AbortSignal): Promise<void> {
    try {
      await this.http.request<unknown>("DELETE", this.memberPath(), { idempotent: true, signal });
    } catch (error) {
      if (!(error instanceof GafkaClientError && isMembershipLost(error))) throw error;
    }
    this.mustLeaveFirst = false;
    this.mayBeMember = false;
    this.current = undefined;
  }

  private startHeartbeat(sessionTimeoutMs: number): void {
    const intervalMs = this.heartbeatIntervalMs ?? Math.max(1, Math.floor(sessionTimeoutMs / 3));
    if (this.heartbeatTimer !== undefined && this.heartbeatTimerMs === intervalMs) return;
    this.stopHeartbeat();
    this.heartbeatTimerMs = intervalMs;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), intervalMs);
    // The heartbeat alone does not keep a process alive: a poll or the caller's work does.
    (this.heartbeatTimer as { unref?: () => void }).unref?.();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private async heartbeat(): Promise<void> {
    if (this.heartbeatInFlight || this.current === undefined || this.closed) return;
    this.heartbeatInFlight = true;
    try {
      const answer = await this.http.request<WireMembership>("POST", `${this.memberPath()}/heartbeat`, {
        idempotent: true,
        signal: this.closing.signal,
      });
      // An answer that raced a newer one (from a poll) must not roll the generation back; a
      // coordinator under a newer leader epoch counts its generations afresh.
      const epoch = typeof answer.leader_epoch === "number" ? answer.leader_epoch : 0;
      const current = this.current;
      if (current !== undefined && (epoch > current.leaderEpoch || epoch < this.leaderEpochSeen || answer.generation >= current.generation)) this.adopt(answer);
    } catch (error) {
      // The session ran out: the next poll joins again. Anything else is tried on the next tick.
      if (error instanceof GafkaClientError && isMembershipLost(error) && !this.closed) this.forgetMembership(false);
    } finally {
      this.heartbeatInFlight = false;
    }
  }

  /**
   * Takes a membership answer as the truth, unless it comes under an older
   * leader epoch than one seen: then the membership is forgotten (this member
   * owns nothing) and `stale_leader_epoch` is thrown, which the callers treat
   * as retriable — the next attempt joins again.
   */
  private adopt(answer: WireMembership): void {
    const leaderEpoch = typeof answer.leader_epoch === "number" ? answer.leader_epoch : 0;
    this.checkLeaderEpoch(leaderEpoch);
    this.current = {
      groupId: answer.group_id,
      consumerId: answer.consumer_id,
      generation: answer.generation,
      assignment: answer.assignment.map(({ topic, partition }) => ({ topic, partition })),
      sessionTimeoutMs: answer.session_timeout_ms,
      leaderEpoch,
    };
  }

  private checkLeaderEpoch(leaderEpoch: number): void {
    if (leaderEpoch >= this.leaderEpochSeen) {
      this.leaderEpochSeen = leaderEpoch;
      return;
    }
    this.forgetMembership(false);
    throw new GafkaClientError(
      "stale_leader_epoch",
      `a coordinator answered under leader epoch ${leaderEpoch}, older than ${this.leaderEpochSeen}: its assignment is dropped and the member joins again`,
      { retriable: true, details: { leader_epoch: leaderEpoch, leader_epoch_seen: this.leaderEpochSeen } },
    );
  }

  /** A 409 carries the current generation and assignment; a 404 means join again. */
  private adoptConflict(error: GafkaClientError): void {
    const { generation, assignment, leader_epoch } = error.details as { generation?: unknown; assignment?: unknown; leader_epoch?: unknown };
    const stale = typeof leader_epoch === "number" && leader_epoch < this.leaderEpochSeen;
    if (stale || isMembershipLost(error) || this.current === undefined || typeof generation !== "number" || !Array.isArray(assignment)) {
      this.forgetMembership(false);
      return;
    }
    if (typeof leader_epoch === "number") this.leaderEpochSeen = leader_epoch;
    this.current = { ...this.current, generation, assignment: assignment as TopicPartition[], ...(typeof leader_epoch === "number" ? { leaderEpoch: leader_epoch } : {}) };
  }

  /** The broker no longer counts this member (or must forget it first); the next call joins again. */
  private forgetMembership(leaveFirst: boolean): void {
    this.current = undefined;
    if (leaveFirst) this.mustLeaveFirst = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new GafkaClientError("client_closed", "the consumer is closed");
  }

  private groupPath(): string {
    return `/api/v1/consumer-groups/${encodeURIComponent(this.groupId)}`;
  }

  private memberPath(): string {
    return `${this.groupPath()}/members/${encodeURIComponent(this.consumerId)}`;
  }
}

/** `<hostname>-<pid>-<6 hex>`, within the id rules (`[A-Za-z0-9._-]`, at most 128 characters). */
export function defaultConsumerId(): string {
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 100) || "gafka";
  const random = Math.floor(Math.random() * 0x1000000)
    .toString(16)
    .padStart(6, "0");
  return `${host}-${process.pid}-${random}`;
}

/** The group moved on (409) or forgot this member (404): retry with what the answer says. */
function isRebalance(error: GafkaClientError): boolean {
  return error.code === "stale_generation" || error.code === "partition_not_owned" || isMembershipLost(error);
}

function isMembershipLost(error: GafkaClientError): boolean {
  return error.code === "unknown_member" || error.code === "group_not_found";
}

/** The call may have reached the broker and its answer been lost. */
function isLostAnswer(error: GafkaClientError): boolean {
  return error.code === "network_error" || error.code === "timeout";
}

/** Whether `promise` settles (either way) within `ms`; the timer is cleared as soon as it does. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const settled = () => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(settled, settled);
  });
}
