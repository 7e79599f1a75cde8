/**
 * Kafka's RecordBatch v2 (magic 2), uncompressed, CreateTime: the unit the log
 * appends, stores, replicates and serves. gafka writes the same bytes Kafka
 * does, so a batch is checked against Kafka's own CRC-32C and can be read by
 * any Kafka client's decoder.
 */
export { type EncodableRecord, type EncodeBatchOptions, encodeRecordBatch } from "./record-batch-encoder.ts";
export { type DecodeOptions, decodeRecordBatch } from "./record-batch-decoder.ts";
export {
  BATCH_HEADER_BYTES,
  BATCH_OVERHEAD_BYTES,
  type BatchHeader,
  batchCrcMatches,
  readBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
} from "./record-batch-header.ts";
