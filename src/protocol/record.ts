/**
 * Records as the log stores them and the client sends and reads them. Keys,
 * values and header values are bytes; the HTTP layer decides how they travel
 * (UTF-8 string or base64).
 */
export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

/** A record to append: the log assigns its offset. */
export interface RecordInput {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
  /** Wall-clock ms since the epoch (CreateTime). */
  timestampMs: number;
}

/** A record read back from the log. */
export interface StoredRecord extends RecordInput {
  offset: number;
}
