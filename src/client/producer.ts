import { partitionForKey, RoundRobin } from "../protocol/partitioner.ts";
import { Admin } from "./admin.ts";
import { batchProduceEncoder } from "./batch-produce-encoder.ts";
import { GafkaClientError } from "./client-error.ts";
import { HttpClient, type ClientOptions } from "./http-client.ts";
import { jsonProduceEncoder } from "./json-produce-encoder.ts";
import type { ProduceEncoder } from "./produce-encoder.ts";
import type { ProducerAcks, ProducerRecord, RecordMetadata } from "./producer-record.ts";
import { asBytes, type RecordFormat } from "./wire.ts";

export type { HeaderValue, ProducerAcks, ProducerRecord, RecordMetadata } from "./producer-record.ts";

export interface ProducerOptions extends ClientOptions {
  /** Records per partition that make a batch go out at once. Default 100. */
  batchSize?: number;
  /** Longest a record waits for its batch to fill. Default 10 ms. */
  lingerMs?: number;
  /** Estimated bytes per partition that make a batch go out at once. Default 8 MiB. */
  batchBytesMax?: number;
  /**
   * Records taken into partition queues and not yet answered (batched or in
   * flight), all partitions together; beyond this, `send` waits its turn.
   * Default 100,000.
   */
  bufferedRecordsMax?: number;
  /**
   * Estimated bytes of those records, all partitions together (Kafka's
   * `buffer.memory`); beyond this, `send` waits its turn. A record is taken in
   * while the total is below it, so the total passes it by at most one record.
   * Default 32 MiB.
   */
  bufferBytesMax?: number;
  /**
   * Produce requests in flight at once, all partitions together (each request
   * carries one partition's batch, and a partition has at most one in flight).
   * A partition whose batch is ready waits for a free request in the order it
   * became ready. Default 5, Kafka's `max.in.flight.requests.per.connection`.
   */
  inFlightRequestsMax?: number;
  /**
   * When the broker answers (Kafka's acks): 1 (default) once the leader holds
   * a record durably; "all" (or -1) once every in-sync replica does; 0 at
   * once, without offsets (RecordMetadata.offset is -1).
   */
  acks?: ProducerAcks;
  /**
   * How records travel (docs/api.md "Record batches"): `batch` (default)
   * sends each partition's batch as one Kafka RecordBatch v2; `json` uses the
   * JSON batch form. A broker that refuses record batches (415, an older
   * one) gets JSON from then on.
   */
  format?: RecordFormat;
}

const BATCH_SIZE_DEFAULT = 100;
const LINGER_MS_DEFAULT = 10;
const BATCH_BYTES_MAX_DEFAULT = 8 * 1024 * 1024;
const BUFFERED_RECORDS_MAX_DEFAULT = 100_000;
const BUFFER_BYTES_MAX_DEFAULT = 32 * 1024 * 1024;
const IN_FLIGHT_REQUESTS_MAX_DEFAULT = 5;

interface Waiting {
  record: ProducerRecord;
  resolve(metadata: RecordMetadata): void;
  reject(error: unknown): void;
}

interface Pending {
  /** Kept to encode the record again should the format change (a broker that refuses batches). */
  record: ProducerRecord;
  /** The record in the current encoder's form. */
  item: unknown;
  bytes: number;
  resolve(metadata: RecordMetadata): void;
  reject(error: unknown): void;
}

/** Records bound for one partition. At most one request per partition is in flight, so order holds. */
interface PartitionQueue {
  topic: string;
  partition: number;
  records: Pending[];
  bytes: number;
  inFlight: boolean;
  /** Full, lingered long enough, or waited out a round trip: send when the partition is free. */
  due: boolean;
  lingerTimer: ReturnType<typeof setTimeout> | undefined;
  /** With lingerMs 0: a send is already scheduled for the end of this turn. */
  sendScheduled: boolean;
}

/**
 * Sends records in batches, one batch per topic-partition, picking partitions
 * the way the broker does. What it holds unanswered is bounded in total, not
 * per partition (records, bytes, requests in flight), so a topic of many
 * partitions does not widen its window: sends beyond the bounds wait in line. A record's promise resolves once the broker has
 * acknowledged it, which (with the broker's default `--fsync always`) means it
 * is on disk. Within one partition, records are appended in `send` order.
 * A batch travels as one RecordBatch v2 (batch-produce-encoder.ts) or in the
 * JSON form (json-produce-encoder.ts), per `format`.
 */
export class Producer {
  private readonly http: HttpClient;
  private readonly admin: Admin;
  private readonly batchSize: number;
  private readonly lingerMs: number;
  private readonly batchBytesMax: number;
  private readonly bufferedRecordsMax: number;
  private readonly bufferBytesMax: number;
  private readonly inFlightRequestsMax: number;
  private readonly acks: 0 | 1 | "all";
  /** Switches from batch to JSON, once, when the broker refuses record batches. */
  private encoder: ProduceEncoder<unknown>;

  /** Records in `send` order, not yet given a partition (waiting for metadata or buffer space). */
  private readonly admission: Waiting[] = [];
  private readonly queues = new Map<string, PartitionQueue>();
  private readonly partitionCounts = new Map<string, number>();
  private readonly metadataRequests = new Set<string>();
  private readonly roundRobins = new Map<string, RoundRobin>();
  /** Records sent and not yet answered (acknowledged or failed). */
  private unsettledRecords = 0;
  /** Numbers the records in send() order, so a flush knows which were sent before it. */
  private sentRecords = 0;
  /** Pending flush() calls: each waits for `remaining` records numbered up to `lastSent`. */
  private readonly flushWaiters: { lastSent: number; remaining: number; resolve: () => void }[] = [];
  /** Records in partition queues or in flight, and their estimated bytes. */
  private bufferedRecords = 0;
  private bufferedBytes = 0;
  private inFlightRequests = 0;
  /** Partitions with a batch to send and no free request, in the order they became ready. */
  private readonly readyQueues = new Set<PartitionQueue>();
  private flushes = 0;
  private closed = false;

  constructor(options: ProducerOptions = {}) {
    this.http = options.transport ?? new HttpClient(options);
    this.admin = new Admin({ transport: this.http });
    this.batchSize = positive("batchSize", options.batchSize ?? BATCH_SIZE_DEFAULT);
    this.lingerMs = options.lingerMs ?? LINGER_MS_DEFAULT;
    this.batchBytesMax = positive("batchBytesMax", options.batchBytesMax ?? BATCH_BYTES_MAX_DEFAULT);
    this.bufferedRecordsMax = positive("bufferedRecordsMax", options.bufferedRecordsMax ?? BUFFERED_RECORDS_MAX_DEFAULT);
    this.bufferBytesMax = positive("bufferBytesMax", options.bufferBytesMax ?? BUFFER_BYTES_MAX_DEFAULT);
    this.inFlightRequestsMax = positive("inFlightRequestsMax", options.inFlightRequestsMax ?? IN_FLIGHT_REQUESTS_MAX_DEFAULT);
    if (!(this.lingerMs >= 0)) throw new GafkaClientError("invalid_request", "lingerMs must be 0 or more");
    const acks = options.acks ?? 1;
    if (acks !== 0 && acks !== 1 && acks !== -1 && acks !== "all") throw new GafkaClientError("invalid_request", 'acks must be 0, 1 or "all"');
    this.acks = acks === -1 ? "all" : acks;
    const format = options.format ?? "batch";
    if (format !== "batch" && format !== "json") throw new GafkaClientError("invalid_request", 'format must be "batch" or "json"');
    this.encoder = format === "batch" ? batchProduceEncoder() : jsonProduceEncoder;
  }

  /** Resolves with where the record landed once the broker acknowledges it. */
  send(record: ProducerRecord): Promise<RecordMetadata> {
    if (this.closed) return Promise.reject(new GafkaClientError("client_closed", "the producer is closed"));
    // Counted apart from the caller's promise (no promise per record for flush() to hold),
    // so a failure nobody awaits still surfaces as unhandled.
    const sequence = ++this.sentRecords;
    this.unsettledRecords++;
    const promise = new Promise<RecordMetadata>((resolve, reject) => {
      this.admission.push({
        record,
        resolve: (metadata) => {
          resolve(metadata);
          this.settled(sequence);
        },
        reject: (error) => {
          reject(error);
          this.settled(sequence);
        },
      });
    });
    this.admit();
    return promise;
  }

  /** Sends everything buffered now and resolves when every record sent before the call is answered. */
  async flush(): Promise<void> {
    this.flushes++;
    try {
      for (const queue of this.queues.values()) this.trySend(queue);
      // Every record unanswered now was sent before this call.
      if (this.unsettledRecords > 0) {
        await new Promise<void>((resolve) =>
          this.flushWaiters.push({ lastSent: this.sentRecords, remaining: this.unsettledRecords, resolve }),
        );
      }
    } finally {
      this.flushes--;
    }
  }

  /** A record was answered: counts it off every flush waiting for it. */
  private settled(sequence: number): void {
    this.unsettledRecords--;
    for (let index = this.flushWaiters.length - 1; index >= 0; index--) {
      const waiter = this.flushWaiters[index]!;
      if (sequence > waiter.lastSent || --waiter.remaining > 0) continue;
      this.flushWaiters.splice(index, 1);
      waiter.resolve();
    }
  }

  /** Flushes, then refuses further sends. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /** Moves records from the admission line into partition queues, in order, while they can be placed. */
  private admit(): void {
    while (this.admission.length > 0) {
      // Resumed as answers arrive.
      if (this.bufferedRecords >= this.bufferedRecordsMax || this.bufferedBytes >= this.bufferBytesMax) return;
      const waiting = this.admission[0]!;
      const partition = this.choosePartition(waiting.record);
      if (partition === undefined) {
        this.loadPartitionCount(waiting.record.topic); // resumed when it settles
        return;
      }
      this.admission.shift();
      let item: unknown;
      try {
        item = this.encoder.prepare(waiting.record, partition);
      } catch (error) {
        waiting.reject(error);
        continue;
      }
      this.enqueue(waiting, item, partition);
    }
  }

  private choosePartition(record: ProducerRecord): number | undefined {
    if (record.partition !== undefined) return record.partition;
    const count = this.partitionCounts.get(record.topic);
    if (count === undefined) return undefined;
    if (record.key !== undefined && record.key !== null) return partitionForKey(asBytes(record.key), count);
    let roundRobin = this.roundRobins.get(record.topic);
    if (!roundRobin) {
      roundRobin = new RoundRobin();
      this.roundRobins.set(record.topic, roundRobin);
    }
    return roundRobin.next(count);
  }

  /** Asks for the topic's partition count once; a failure fails the records waiting for it. */
  private loadPartitionCount(topic: string): void {
    if (this.metadataRequests.has(topic)) return;
    this.metadataRequests.add(topic);
    this.admin
      .describeTopic(topic)
      .then(
        (description) => this.partitionCounts.set(topic, description.partitions.length),
        (error: unknown) => {
          for (let index = this.admission.length - 1; index >= 0; index--) {
            const waiting = this.admission[index]!;
            if (waiting.record.topic !== topic || waiting.record.partition !== undefined) continue;
            this.admission.splice(index, 1);
            waiting.reject(error);
          }
        },
      )
      .finally(() => {
        this.metadataRequests.delete(topic);
        this.admit();
      });
  }

  private enqueue(waiting: Waiting, item: unknown, partition: number): void {
    const queueKey = `${partition}:${waiting.record.topic}`;
    let queue = this.queues.get(queueKey);
    if (!queue) {
      queue = { topic: waiting.record.topic, partition, records: [], bytes: 0, inFlight: false, due: false, lingerTimer: undefined, sendScheduled: false };
      this.queues.set(queueKey, queue);
    }
    const bytes = this.encoder.sizeBytes(item);
    queue.records.push({ record: waiting.record, item, bytes, resolve: waiting.resolve, reject: waiting.reject });
    queue.bytes += bytes;
    this.bufferedRecords++;
    this.bufferedBytes += bytes;
    if (queue.records.length >= this.batchSize || queue.bytes >= this.batchBytesMax) queue.due = true;
    this.trySend(queue);
  }

  private trySend(queue: PartitionQueue): void {
    if (queue.inFlight || queue.records.length === 0) return;
    if (!queue.due && this.flushes === 0) {
      if (this.lingerMs === 0) {
        // No linger: send once this turn's sends are queued. A setTimeout(0)
        // costs about a millisecond in Bun, which is the whole latency budget.
        if (!queue.sendScheduled) {
          queue.sendScheduled = true;
          setImmediate(() => {
            queue.sendScheduled = false;
            queue.due = true;
            this.trySend(queue);
          });
        }
        return;
      }
      queue.lingerTimer ??= setTimeout(() => {
        queue.lingerTimer = undefined;
        queue.due = true;
        this.trySend(queue);
      }, this.lingerMs);
      return;
    }
    if (this.inFlightRequests >= this.inFlightRequestsMax) {
      queue.due = true; // a flush's wish holds after the flush
      this.readyQueues.add(queue); // sent when a request comes back
      return;
    }
    this.readyQueues.delete(queue);
    clearTimeout(queue.lingerTimer);
    queue.lingerTimer = undefined;
    queue.due = false;
    const { batch, bytes } = this.takeBatch(queue);
    queue.inFlight = true;
    this.inFlightRequests++;
    void this.sendBatch(queue, batch).finally(() => {
      queue.inFlight = false;
      this.inFlightRequests--;
      this.bufferedRecords -= batch.length;
      this.bufferedBytes -= bytes;
      // What piled up during the round trip has waited long enough; it queues
      // behind the partitions that were ready before it.
      if (queue.records.length > 0) {
        queue.due = true;
        this.readyQueues.add(queue);
      }
      this.sendReady();
      if (queue.records.length === 0 && !queue.inFlight) this.queues.delete(`${queue.partition}:${queue.topic}`);
      this.admit();
    });
  }

  /** Sends the partitions waiting for a request, oldest first, while requests are free. */
  private sendReady(): void {
    for (const queue of this.readyQueues) {
      if (this.inFlightRequests >= this.inFlightRequestsMax) return;
      this.trySend(queue);
    }
  }

  /** The next batch off the queue, and its estimated bytes as counted in bufferedBytes. */
  private takeBatch(queue: PartitionQueue): { batch: Pending[]; bytes: number } {
    let count = 0;
    let bytes = 0;
    while (count < queue.records.length && count < this.batchSize) {
      const next = queue.records[count]!;
      if (count > 0 && bytes + next.bytes > this.batchBytesMax) break;
      bytes += next.bytes;
      count++;
    }
    queue.bytes -= bytes;
    return { batch: queue.records.splice(0, count), bytes };
  }

  /** One `POST /api/v1/produce` for the batch; the broker appends it as one batch. */
  private async sendBatch(queue: PartitionQueue, batch: Pending[]): Promise<void> {
    const target = { topic: queue.topic, partition: queue.partition, acks: this.acks };
    try {
      let encoder = this.encoder;
      let metadata: RecordMetadata[];
      try {
        metadata = await encoder.send(this.http, target, batch.map((pending) => pending.item));
      } catch (error) {
        if (encoder === jsonProduceEncoder || !isUnsupportedMediaType(error)) throw error;
        // The broker stored nothing of a 415; it predates record batches, so say it in JSON from now on.
        encoder = this.useJson();
        for (const pending of batch) pending.item = encoder.prepare(pending.record, queue.partition);
        metadata = await encoder.send(this.http, target, batch.map((pending) => pending.item));
      }
      if (metadata.length !== batch.length) throw new GafkaClientError("invalid_response", `${metadata.length} results for ${batch.length} records`);
      for (let index = 0; index < batch.length; index++) batch[index]!.resolve(metadata[index]!);
    } catch (error) {
      // The topic may have been deleted and recreated with another partition count.
      if (error instanceof GafkaClientError && (error.code === "topic_not_found" || error.code === "partition_not_found")) {
        this.partitionCounts.delete(queue.topic);
      }
      for (const pending of batch) pending.reject(error);
    }
  }

  /** Switches to the JSON form and re-encodes what is queued; returns the JSON encoder. */
  private useJson(): ProduceEncoder<unknown> {
    if (this.encoder === jsonProduceEncoder) return this.encoder;
    const encoder: ProduceEncoder<unknown> = jsonProduceEncoder;
    this.encoder = encoder;
    for (const queue of this.queues.values()) {
      this.bufferedBytes -= queue.bytes;
      queue.bytes = 0;
      for (const pending of queue.records) {
        pending.item = encoder.prepare(pending.record, queue.partition);
        pending.bytes = encoder.sizeBytes(pending.item);
        queue.bytes += pending.bytes;
      }
      this.bufferedBytes += queue.bytes;
    }
    return encoder;
  }
}

function isUnsupportedMediaType(error: unknown): boolean {
  return error instanceof GafkaClientError && (error.code === "unsupported_media_type" || error.status === 415);
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new GafkaClientError("invalid_request", `${name} must be a positive integer`);
  return value;
}
