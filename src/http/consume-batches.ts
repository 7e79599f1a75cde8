import { RECORD_BATCH_MEDIA_TYPE } from "./request.ts";

/**
 * A consume answer in the binary form (docs/api.md "Binary consume"):
 *
 *   offset  size  field
 *   0       4     N        uint32 BE — bytes of the JSON header
 *   4       N     header   UTF-8 JSON: the JSON answer without `records`, plus
 *                          `chunks`: [{topic, partition, offset, next_offset, bytes}]
 *   4 + N   ...   chunks   each chunk's `bytes` bytes in the order listed: whole
 *                          stored RecordBatch v2 batches (no frame header) holding
 *                          the records offset <= o < next_offset of its partition
 *
 * Partition form header: {"topic", "partition", "next_offset", "high_watermark", "chunks"}
 * Group form header:     {<membership fields>..., "chunks"}
 */

/** One partition's batches as the answer carries them. */
export interface BatchChunk {
  topic: string;
  partition: number;
  /** First record delivered; the first batch may begin before it. */
  offset: number;
  /** One past the last record delivered; the last batch may run past it. */
  nextOffset: number;
  batches: Uint8Array;
}

const encoder = new TextEncoder();
const HEADER_LENGTH_BYTES = 4;
const BINARY_CONTENT_TYPE = { "content-type": RECORD_BATCH_MEDIA_TYPE };

/**
 * Whether the request asks for the binary form: its Accept names the
 * record-batch media type, alone or among others (and not with q=0). Any
 * other Accept, or none, gets JSON, the default.
 */
export function acceptsRecordBatches(request: Request): boolean {
  const accept = request.headers.get("accept");
  // Most requests are JSON ones: they are told apart without splitting the header.
  if (accept === null || !accept.toLowerCase().includes(RECORD_BATCH_MEDIA_TYPE)) return false;
  for (const range of accept.split(",")) {
    const [mediaType = "", ...parameters] = range.split(";");
    if (mediaType.trim().toLowerCase() !== RECORD_BATCH_MEDIA_TYPE) continue;
    if (!parameters.some(isQualityZero)) return true;
  }
  return false;
}

/** The binary answer of GET /api/v1/consume?topic&partition: at most one chunk, none when nothing was delivered. */
export function partitionBatchesResponse(
  topic: string,
  partition: number,
  read: { offset: number; nextOffset: number; highWatermark: number; batches: Uint8Array },
): Response {
  const chunks: BatchChunk[] =
    read.nextOffset > read.offset ? [{ topic, partition, offset: read.offset, nextOffset: read.nextOffset, batches: read.batches }] : [];
  return respond({ topic, partition, next_offset: read.nextOffset, high_watermark: read.highWatermark }, chunks);
}

/** The binary answer of a group consume: `membership`'s fields (an object of small values), then the chunks. */
export function groupBatchesResponse(membership: object, chunks: readonly BatchChunk[]): Response {
  return respond(membership, chunks);
}

/**
 * The body is built as a Blob of its parts: Bun copies a typed-array body
 * into the Response (src/http/consume-json.test.ts shows it) but takes a
 * Blob's store as it is, so the Blob is the one allocation of the whole body
 * and each batch is copied once, into it.
 */
function respond(fields: object, chunks: readonly BatchChunk[]): Response {
  const chunksJson = chunks.map((chunk) => ({
    topic: chunk.topic,
    partition: chunk.partition,
    offset: chunk.offset,
    next_offset: chunk.nextOffset,
    bytes: chunk.batches.length,
  }));
  const header = encoder.encode(JSON.stringify({ ...fields, chunks: chunksJson }));
  const head = new Uint8Array(HEADER_LENGTH_BYTES + header.length);
  new DataView(head.buffer).setUint32(0, header.length);
  head.set(header, HEADER_LENGTH_BYTES);
  const parts: Uint8Array[] = [head];
  for (const chunk of chunks) parts.push(chunk.batches);
  return new Response(new Blob(parts), { headers: BINARY_CONTENT_TYPE });
}

function isQualityZero(parameter: string): boolean {
  const [name = "", value = ""] = parameter.split("=");
  return name.trim().toLowerCase() === "q" && value.trim() !== "" && Number(value.trim()) === 0;
}
