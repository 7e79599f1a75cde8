import type { HttpClient } from "./http-client.ts";
import type { ProducerRecord, RecordMetadata } from "./producer-record.ts";

/** Where one produce request goes: a partition of a topic, with the producer's acks. */
export interface ProduceTarget {
  topic: string;
  partition: number;
  acks: 0 | 1 | "all";
}

/**
 * One way records travel to `POST /api/v1/produce` (the JSON batch form, or
 * a RecordBatch v2). The producer queues what `prepare` makes, per
 * partition, and hands each batch of it to `send`.
 */
export interface ProduceEncoder<Item> {
  /** The record in this encoder's form, made once at `send`; throws a GafkaClientError for a bad record. */
  prepare(record: ProducerRecord, partition: number): Item;
  /** Bytes the item adds to a request, roughly: what `batchBytesMax` counts. */
  sizeBytes(item: Item): number;
  /** One request carrying `items` in order; resolves with each one's metadata, in the same order. */
  send(http: HttpClient, target: ProduceTarget, items: Item[]): Promise<RecordMetadata[]>;
}
