import { hostname } from "node:os";
import { limits } from "../core/limits.ts";
import { GafkaClientError } from "./client-error.ts";
import { acceptFor, decodeRecord, type ConsumerRecord, type Decoded, type PollOptions, type ValueEncoding } from "./consumer.ts";
import { Acknowledgements } from "./group-acknowledgements.ts";
import type { AssignorName, GroupCloseOptions, GroupConsumerOptions, Membership } from "./group-consumer-options.ts";
import { GroupHeartbeat } from "./group-heartbeat.ts";
import { GroupMembership, isMembershipLost, isRebalance, REBALANCE_RETRIES_MAX } from "./group-membership.ts";
import { HttpClient } from "./http-client.ts";
import { decodeBatchAnswer } from "./record-batch-answer.ts";
import { partitionKey, type TopicPartitionOffset } from "./topic-partition.ts";
import type { WireGroupConsumeAnswer, WireMembership } from "./wire.ts";

export type { AssignorName, GroupCloseOptions, GroupConsumerOptions, Membership } from "./group-consumer-options.ts";

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
  private readonly maxRecords: number;
  private readonly waitMs: number;
  private readonly encoding: ValueEncoding;
  private readonly accept: string | undefined;
  private readonly closing = new AbortController();
  private closingDone: Promise<void> | undefined;
  private readonly state = new GroupMembership();
  private readonly heartbeat: GroupHeartbeat;
  private readonly acknowledgements: Acknowledgements;
  private readonly autoCommitIntervalMs: number | undefined;
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
    this.maxRecords = options.maxRecords ?? limits.consumeCountDefault;
    this.waitMs = Math.min(options.waitMs ?? limits.fetchWaitMsMax, limits.fetchWaitMsMax);
    this.encoding = options.encoding ?? "utf8";
    this.accept = acceptFor(options.format);
    if (options.autoCommitIntervalMs !== undefined && !(options.autoCommitIntervalMs >= 0)) {
      throw new GafkaClientError("invalid_request", "autoCommitIntervalMs must be 0 or more");
    }
    this.autoCommitIntervalMs = options.autoCommitIntervalMs;
    this.heartbeat = new GroupHeartbeat(this.http, this.memberPath(), this.state, this.closing.signal, options.heartbeatIntervalMs);
    this.acknowledgements = new Acknowledgements(this.http, this.groupPath(), this.consumerId, this.state, this.closing.signal, this.autoCommitIntervalMs);
  }

  get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /** The generation and assignment as of the last answer; undefined before joining or after the session was lost. */
  membership(): Membership | undefined {
    return this.state.current;
  }

  /** Joins the group (a poll joins by itself) and starts the heartbeat. */
  async join(): Promise<Membership> {
    this.checkOpen();
    if (this.state.mustLeaveFirst) await this.leave(this.closing.signal);
    this.state.mayBeMember = true;
    const answer = await this.http.request<WireMembership>("POST", this.memberPath(), {
      body: { topics: this.topics, session_timeout_ms: this.sessionTimeoutMs, assignor: this.assignor },
      idempotent: true, // joining twice with the same topics changes nothing
      signal: this.closing.signal,
    });
    this.state.adopt(answer);
    this.heartbeat.start(answer.session_timeout_ms);
    return this.state.current!;
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
    this.acknowledgements.autoCommitIfDue();
    let records: ConsumerRecord<Decoded<E>>[];
    const ahead = this.fetchedAhead;
    if (this.fetchedOver.length > 0) {
      // Records a call ahead brought beyond what the poll that took them asked for; not those of partitions taken away since.
      const owned = new Set((this.state.current?.assignment ?? []).map(partitionKey));
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
    this.acknowledgements.handOut(records);
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

  /** One group consume call, riding out rebalances and lost answers; the records it brought (none once closed). */
  private async fetch(maxRecords: number, waitMs: number): Promise<ConsumerRecord<Decoded<E>>[]> {
    let rebalances = 0;
    const retries = this.http.retryPolicy.start();
    for (;;) {
      try {
        const membership = this.state.current ?? (await this.join());
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
          this.state.adopt(decoded.header);
          records = decoded.records;
        } else {
          this.state.adopt(answer.json);
          records = answer.json.records.map((record) => decodeRecord<E>(record.topic, record, this.encoding));
        }
        return records;
      } catch (error) {
        if (this.closed) return [];
        if (!(error instanceof GafkaClientError)) throw error;
        if (isRebalance(error) && rebalances++ < REBALANCE_RETRIES_MAX) {
          this.state.adoptConflict(error);
          continue;
        }
        // A lost answer, or one that could not be read (a corrupt batch), may have handed out records
        // nobody saw: the next call must not acknowledge them, so leave and join again first.
        if (isLostAnswer(error) || error.code === "invalid_response") this.state.forget(true);
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
    return this.acknowledgements.commit(this.closing.signal);
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
    this.heartbeat.stop();
    await this.acknowledgements.autoCommitting;
    if (!this.state.mayBeMember) return;
    // Past the session timeout the broker has dropped the member anyway.
    const signal = AbortSignal.timeout(this.state.current?.sessionTimeoutMs ?? this.sessionTimeoutMs ?? limits.sessionTimeoutMsDefault);
    try {
      if (commit) await this.acknowledgements.commit(signal);
    } catch {
      // Not committed: the records go to the next owner again (at-least-once).
    }
    try {
      await this.leave(signal);
    } catch {
      // Unreachable: the broker drops the member when its session runs out.
    }
  }

  /** DELETE the member; one the broker no longer knows has left already. */
  private async leave(signal: AbortSignal): Promise<void> {
    try {
      await this.http.request<unknown>("DELETE", this.memberPath(), { idempotent: true, signal });
    } catch (error) {
      if (!(error instanceof GafkaClientError && isMembershipLost(error))) throw error;
    }
    this.state.left();
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
