import { GafkaClientError } from "./client-error.ts";

/** When the broker answers a produce (Kafka's acks); see ProducerOptions.acks. */
export type ProducerAcks = 0 | 1 | -1 | "all";

export interface ProducerRecord {
  topic: string;
  /** Records with the same key land in the same partition (Kafka's murmur2 partitioner). */
  key?: string | Uint8Array | null;
  /** A string travels as its UTF-8 bytes, a Uint8Array as it is; null is a tombstone. */
  value: string | Uint8Array | null;
  /** Overrides the key's choice. */
  partition?: number;
  /** An object, or a list when a key repeats. */
  headers?: Record<string, HeaderValue> | { key: string; value: HeaderValue }[];
  /**
   * CreateTime in ms since the epoch. When absent: the producer's clock at
   * `send` in the batch format, the broker's clock in the JSON format.
   */
  timestamp?: number;
}

export type HeaderValue = string | Uint8Array | null;

/** Where an acknowledged record landed. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 under acks=0. */
  offset: number;
  timestamp: number;
}

/** The record's headers as a list, repeated keys kept in order. */
export function headerEntries(headers: ProducerRecord["headers"]): { key: string; value: HeaderValue }[] {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers;
  return Object.entries(headers).map(([key, value]) => ({ key, value }));
}

/**
 * Refuses, before anything is queued, a record whose parts have types the
 * SDK's types do not allow (a JavaScript caller can pass anything).
 */
export function checkRecordTypes(record: ProducerRecord): void {
  if (!isData(record.value)) {
    throw new GafkaClientError("invalid_request", "a record's value must be a string, a Uint8Array or null");
  }
  if (record.key !== undefined && !isData(record.key)) {
    throw new GafkaClientError("invalid_request", "a record's key must be a string, a Uint8Array or null");
  }
  const headers = record.headers;
  if (headers === undefined) return;
  if (typeof headers !== "object" || headers === null) {
    throw new GafkaClientError("invalid_request", "a record's headers must be an object or a list of {key, value}");
  }
  for (const { key, value } of headerEntries(headers)) {
    if (typeof key !== "string" || !isData(value ?? null)) {
      throw new GafkaClientError("invalid_request", "a header needs a string key and a string, Uint8Array or null value");
    }
  }
}

function isData(data: unknown): boolean {
  return data === null || typeof data === "string" || data instanceof Uint8Array;
}
