import { limits } from "../core/limits.ts";
import { GafkaClientError } from "./client-error.ts";
import { HttpClient, type ClientOptions, type HttpAnswer } from "./http-client.ts";
import { decodeBatchAnswer } from "./record-batch-answer.ts";
import {
  fromBase64,
  headerList,
  RECORD_BATCH_MEDIA_TYPE,
  type RecordFormat,
  type WireConsumeAnswer,
  type WireConsumedRecord,
} from "./wire.ts";

/** How record keys, values and header values reach the caller: strings, or bytes. */
export type ValueEncoding = "utf8" | "binary";
export type Decoded<E extends ValueEncoding> = E extends "binary" ? Uint8Array : string;

/** An offset, or where the partition currently begins or ends. */
export type OffsetSpec = number | "earliest" | "latest";

export interface ConsumerRecord<V = string> {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: V | null;
  /** Null only for a record written without a value (a tombstone); HTTP producers always give one. */
  value: V | null;
  headers: { key: string; value: V | null }[];
}

export interface ConsumerOptions<E extends ValueEncoding = "utf8"> extends ClientOptions {
  topic: string;
  /**
   * The partition to read. (In group mode the broker assigns partitions and
   * keeps offsets: see `GroupConsumer`.)
   */
  partition: number;
  /** Where to start. Default `earliest`. */
  offset?: OffsetSpec;
  /** Most records one poll returns. Default 100. */
  maxRecords?: number;
  /** Long-poll wait of each poll made by `for await`. Default (and at most) 30 s. */
  waitMs?: number;
  /** `binary` gives keys, values and header values as Uint8Array. Default `utf8`. */
  encoding?: E;
  /**
   * How records travel (docs/api.md "Record batches"): `batch` (default) asks
   * for Kafka RecordBatch v2 bytes and reads JSON when that is what comes
   * back (an older broker); `json` asks for JSON. The records handed out are
   * the same either way.
   */
  format?: RecordFormat;
}

export interface PollOptions {
  maxRecords?: number;
  /** How long the broker may wait for a first record; 0 answers at once. At most 30 s. */
  waitMs?: number;
}

/**
 * Where the partition is read from. (Group mode keeps no cursors: the broker
 * tracks positions, see group-consumer.ts.)
 */
interface PartitionCursor {
  topic: string;
  partition: number;
  position: OffsetSpec;
  highWatermark: number | undefined;
  /** Bumped by `seek`, so a poll answered after a seek does not undo it. */
  seeks: number;
}

const MAX_RECORDS_DEFAULT = limits.consumeCountDefault;

/**
 * Reads one partition from an explicit offset with long polls. The consumer
 * keeps its own position: each poll continues where the last one ended, and
 * `seek` moves it. Delivery is at-least-once from the caller's point of view:
 * nothing is committed on the broker.
 */
export class Consumer<E extends ValueEncoding = "utf8"> implements AsyncIterable<ConsumerRecord<Decoded<E>>[]> {
  private readonly http: HttpClient;
  private readonly cursors: PartitionCursor[];
  private readonly maxRecords: number;
  private readonly waitMs: number;
  private readonly encoding: ValueEncoding;
  private readonly accept: string | undefined;
  private readonly closing = new AbortController();

  constructor(options: ConsumerOptions<E>) {
    this.http = options.transport ?? new HttpClient(options);
    this.cursors = [{ topic: options.topic, partition: options.partition, position: options.offset ?? "earliest", highWatermark: undefined, seeks: 0 }];
    this.maxRecords = options.maxRecords ?? MAX_RECORDS_DEFAULT;
    this.waitMs = Math.min(options.waitMs ?? limits.fetchWaitMsMax, limits.fetchWaitMsMax);
    this.encoding = options.encoding ?? "utf8";
    this.accept = acceptFor(options.format);
  }

  get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /** The offset the next poll asks for (`earliest`/`latest` until the first answer resolves it). */
  position(): OffsetSpec {
    return this.cursor().position;
  }

  /** The partition's high watermark as of the last poll; undefined before it. */
  highWatermark(): number | undefined {
    return this.cursor().highWatermark;
  }

  /** Moves the position; the next poll reads from there. */
  seek(offset: OffsetSpec): void {
    if (typeof offset === "number" && !(Number.isSafeInteger(offset) && offset >= 0)) {
      throw new GafkaClientError("invalid_request", `cannot seek to offset ${offset}`);
    }
    const cursor = this.cursor();
    cursor.position = offset;
    cursor.seeks++;
  }

  /**
   * Answers as soon as at least one record at or after the position exists,
   * or with an empty list once `waitMs` passes, or when the consumer is
   * closed. Advances the position past the records returned. An offset
   * outside the log rejects with code `offset_out_of_range` and
   * `details.earliest`/`details.latest`.
   */
  async poll(options: PollOptions = {}): Promise<ConsumerRecord<Decoded<E>>[]> {
    if (this.closed) throw new GafkaClientError("client_closed", "the consumer is closed");
    const cursor = this.cursor();
    const seeksBefore = cursor.seeks;
    const waitMs = Math.min(Math.max(0, options.waitMs ?? 0), limits.fetchWaitMsMax);
    let answer: HttpAnswer<WireConsumeAnswer>;
    try {
      answer = await this.http.exchange<WireConsumeAnswer>("GET", "/api/v1/consume", {
        query: {
          topic: cursor.topic,
          partition: cursor.partition,
          offset: cursor.position,
          count: options.maxRecords ?? this.maxRecords,
          timeout: `${waitMs}ms`,
          value_encoding: this.encoding === "binary" ? "base64" : undefined,
        },
        accept: this.accept,
        waitMs,
        signal: this.closing.signal,
      });
    } catch (error) {
      if (this.closed && error instanceof GafkaClientError && error.code === "aborted") return [];
      throw error;
    }
    let header: Omit<WireConsumeAnswer, "records">;
    let records: ConsumerRecord<Decoded<E>>[];
    if (answer.kind === "bytes") {
      ({ header, records } = decodeBatchAnswer<WireConsumeAnswer, E>(answer.bytes, this.encoding));
    } else {
      header = answer.json;
      records = answer.json.records.map((record) => decodeRecord<E>(cursor.topic, record, this.encoding));
    }
    // A seek during the poll wins over the answer's next offset.
    if (cursor.seeks === seeksBefore) cursor.position = header.next_offset;
    cursor.highWatermark = header.high_watermark;
    return records;
  }

  /** Long-polls forever, yielding each non-empty list of records, until `close()`. */
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerRecord<Decoded<E>>[]> {
    while (!this.closed) {
      const records = await this.poll({ waitMs: this.waitMs });
      if (records.length > 0) yield records;
    }
  }

  /** Stops the consumer: a poll in flight answers with an empty list, a `for await` loop ends. */
  async close(): Promise<void> {
    this.closing.abort();
  }

  private cursor(): PartitionCursor {
    return this.cursors[0]!;
  }
}

/** The Accept media type for a format: record batches, or none (JSON). */
export function acceptFor(format: RecordFormat | undefined): string | undefined {
  const chosen = format ?? "batch";
  if (chosen !== "batch" && chosen !== "json") throw new GafkaClientError("invalid_request", 'format must be "batch" or "json"');
  return chosen === "batch" ? RECORD_BATCH_MEDIA_TYPE : undefined;
}

/** A consumed record as the SDK hands it out: text, or bytes when the consumer asked for `binary`. */
export function decodeRecord<E extends ValueEncoding>(
  topic: string,
  record: WireConsumedRecord,
  encoding: ValueEncoding,
): ConsumerRecord<Decoded<E>> {
  const decode = (text: string | null | undefined): Decoded<E> | null => {
    if (text === null || text === undefined) return null;
    return (encoding === "binary" ? fromBase64(text) : text) as Decoded<E>;
  };
  return {
    topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: decode(record.key),
    value: decode(record.value),
    headers: headerList(record.headers).map(({ key, value }) => ({ key, value: decode(value) })),
  };
}
