/** What the traffic hooks (onProduced, onConsumed) count of a record: its key and value bytes, not headers or framing. */

import type { StoredRecord } from "../protocol/record.ts";

/** Key + value bytes of a record. */
export function payloadBytesOf(record: { key: Uint8Array | null; value: Uint8Array | null }): number {
  return (record.key?.length ?? 0) + (record.value?.length ?? 0);
}

/** Key + value bytes of the records, summed. */
export function recordsPayloadBytes(records: readonly StoredRecord[]): number {
  let bytes = 0;
  for (let index = 0; index < records.length; index++) bytes += payloadBytesOf(records[index]!);
  return bytes;
}
