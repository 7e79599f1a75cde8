import { Admin, type ClientOptions, Consumer, type ConsumerRecord, type PollOptions, type RecordFormat } from "../client/index.ts";

export interface AllPartitionsOptions {
  /** The brokers and retry policy every partition's consumer (and the topic look-up) uses. */
  client: ClientOptions;
  topic: string;
  /** Where every partition starts: earliest or latest (an offset means one partition). */
  offset: "earliest" | "latest";
  format: RecordFormat;
}

/**
 * Every partition of a topic read side by side, as kcat and
 * kafka-console-consumer do when no partition is named: one `Consumer`, and
 * at most one long poll in flight, per partition. Records are handed out as
 * each partition's poll answers, so order holds within a partition, not
 * across them. The partitions are those the topic has at the first poll.
 */
export class AllPartitionsSource {
  private consumers: Consumer[] | undefined;
  /** Each partition's poll in flight; it removes itself once it has answered. */
  private readonly polls = new Map<Consumer, Promise<void>>();
  /** Records answered and not yet handed out, in the order their polls answered. */
  private readonly ready: ConsumerRecord[] = [];
  private failure: unknown;
  private recordsArrived: (() => void) | undefined;
  private isClosed = false;

  constructor(private readonly options: AllPartitionsOptions) {}

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Records of any partition: at once when some are ready, else as soon as
   * one partition's poll brings some, or an empty list once every poll in
   * flight has answered with nothing. At most `maxRecords`; the rest wait
   * for the next call.
   */
  async poll(options: PollOptions): Promise<ConsumerRecord[]> {
    this.consumers ??= await this.openConsumers();
    if (this.ready.length === 0 && this.failure === undefined && !this.isClosed) {
      for (const consumer of this.consumers) if (!this.polls.has(consumer)) this.startPoll(consumer, options);
      const arrived = new Promise<void>((resolve) => (this.recordsArrived = resolve));
      await Promise.race([arrived, Promise.all(this.polls.values())]);
      this.recordsArrived = undefined;
    }
    if (this.failure !== undefined) throw this.failure;
    return this.ready.splice(0, options.maxRecords ?? this.ready.length);
  }

  /** Ends every poll in flight (each answers with nothing). */
  async close(): Promise<void> {
    this.isClosed = true;
    await Promise.all((this.consumers ?? []).map((consumer) => consumer.close()));
  }

  private async openConsumers(): Promise<Consumer[]> {
    const { client, topic, offset, format } = this.options;
    const description = await new Admin(client).describeTopic(topic);
    return description.partitions.map(({ partition }) => new Consumer({ ...client, topic, partition, offset, format }));
  }

  private startPoll(consumer: Consumer, options: PollOptions): void {
    const poll = consumer
      .poll(options)
      .then(
        (records) => {
          for (const record of records) this.ready.push(record);
          if (records.length > 0) this.recordsArrived?.();
        },
        (error: unknown) => {
          this.failure ??= error;
          this.recordsArrived?.();
        },
      )
      .finally(() => this.polls.delete(consumer));
    this.polls.set(consumer, poll);
  }
}
