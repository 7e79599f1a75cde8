import { GafkaError } from "../core/errors.ts";
import { limits } from "../core/limits.ts";
import { filterRecordBatch, type FilteredRecord } from "../protocol/record-batch-filter.ts";
import { BATCH_HEADER_BYTES, decodeRecordBatch, readBatchHeader } from "../protocol/record-batch.ts";
import { type CleanerPass, cleanEndOffsetOf, firstCleanedAtMs, readCleanerPasses, withPass, writeCleanerPasses } from "./cleaner-checkpoint.ts";
import type { CompactionTarget } from "./compaction-target.ts";
import { encodeFrame, FRAME_HEADER_BYTES, frameChecksum, readFrameHeader } from "./frame.ts";
import { OffsetIndex } from "./offset-index.ts";
import type { Segment } from "./segment.ts";
import { discardCleanedSegment, writeCleanedSegment } from "./segment-swap.ts";

/** A topic's compaction settings as a pass applies them (src/broker/topic-config.ts), and the time it runs at. */
export interface CompactionPolicy {
  /** Wall clock now (record timestamps are wall clock). */
  nowMs: number;
  deleteRetentionMs: number;
  minCompactionLagMs: number;
}

/** The cleaner's I/O budget: resolves once `bytes` more may be read or written. */
export type SpendIo = (bytes: number) => Promise<void>;

export interface CompactionOutcome {
  /** Segments replaced by a compacted copy. */
  segmentsCleaned: number;
  bytesRead: number;
  bytesWritten: number;
  /** Bytes the replaced segments held less their copies. */
  bytesRemoved: number;
  /** Offsets below this went through the pass (0 when it took no segment). */
  cleanEndOffset: number;
  /** The log moved on under the pass (reopened, truncated, trimmed): it stopped and nothing more was changed. */
  abandoned: boolean;
  /** The cleaner checkpoint the pass wrote (empty when it wrote none): what the leader replicates. */
  passes: CleanerPass[];
}

/**
 * One compaction pass over a partition (Kafka's LogCleaner.clean), oldest
 * segment first:
 *
 * 1. The cleanable segments: sealed and below the high watermark; those a
 *    pass has compacted before (the clean section, below the checkpoint's
 *    clean end), then the dirty ones up to the first holding a record newer
 *    than min.compaction.lag.ms (a segment's newest record decides) and up to
 *    limits.cleanerKeysMax keys (at least one segment).
 * 2. A map of each key to its highest offset in the dirty segments taken
 *    (the clean section holds each key once already).
 * 3. Each segment rewritten batch by batch (src/protocol/record-batch-filter.ts):
 *    a keyed record stays unless the map has a newer offset for its key; a
 *    tombstone (null value) that is its key's newest stays until the first
 *    pass that covered it is delete.retention.ms old (src/storage/cleaner-checkpoint.ts),
 *    so it survives at least one pass and that long after. Keyless records
 *    stay (a compacted topic refuses them at produce; older ones are kept).
 *    Every batch stays, with its offsets (an empty one holds its range), so
 *    batch and segment boundaries, offsets and leader epochs never change.
 * 4. A segment that changed is swapped for its copy (src/storage/segment-swap.ts);
 *    an unchanged one is left as it is.
 * 5. The pass is recorded in the cleaner checkpoint.
 *
 * Segments are processed in offset order and each swap is durable before the
 * next begins, so a tombstone is never dropped while an older value of its
 * key survives in an earlier segment. Every byte read or written is charged
 * to `spend` first. Reads go through a descriptor of its own on each file,
 * so a segment deleted meanwhile (retention) is read whole or not at all.
 *
 * The output is a function of the segments' bytes, the clean end, `nowMs`,
 * delete.retention.ms and the checkpoint's earlier passes alone: nothing
 * depends on the order a map iterates, the I/O budget's pacing or the pauses.
 * So a follower given `replay` (the leader's pass: its checkpoint entry and
 * the checkpoint it read) writes the leader's bytes and checkpoint exactly,
 * on the same segments (src/broker/replicated-passes.ts).
 */
export async function compactPartition(target: CompactionTarget, policy: CompactionPolicy, spend: SpendIo, replay?: ReplayedPass): Promise<CompactionOutcome> {
  const outcome: CompactionOutcome = { segmentsCleaned: 0, bytesRead: 0, bytesWritten: 0, bytesRemoved: 0, cleanEndOffset: 0, abandoned: false, passes: [] };
  const passes = replay?.priorPasses ?? readCleanerPasses(target.files.fs, target.files.dir);
  // Never before the last pass's time: a clock stepped back must not make tombstones of a later pass outlive those of an earlier one.
  const nowMs = replay?.pass.cleanedAtMs ?? Math.max(policy.nowMs, passes.at(-1)?.cleanedAtMs ?? Number.NEGATIVE_INFINITY);
  const deleteRetentionMs = replay === undefined ? policy.deleteRetentionMs : (replay.pass.deleteRetentionMs ?? policy.deleteRetentionMs);
  const chosen = replay === undefined ? await chooseSegments(target, passes, nowMs - policy.minCompactionLagMs, spend, outcome) : await replayedSegments(target, passes, replay, spend, outcome);
  if (chosen === undefined) return { ...outcome, abandoned: true };
  const { cleanable, latestOffsets } = chosen;
  if (cleanable.length === 0 && replay === undefined) return outcome;

  const tombstoneHorizonMs = nowMs - deleteRetentionMs;
  const keep = (record: FilteredRecord): boolean => {
    if (record.key === null) return true;
    const latest = latestOffsets.get(keyString(record.key));
    if (latest !== undefined && latest > record.offset) return false;
    if (!record.valueIsNull) return true;
    const firstCleanedMs = firstCleanedAtMs(passes, record.offset);
    return firstCleanedMs === undefined || firstCleanedMs > tombstoneHorizonMs;
  };
  for (const segment of cleanable) {
    const done = await cleanSegment(target, segment, keep, spend, outcome);
    if (!done) return { ...outcome, abandoned: true };
  }
  outcome.cleanEndOffset = replay?.pass.cleanEndOffset ?? cleanable[cleanable.length - 1]!.nextOffset;
  const pass: CleanerPass = replay?.pass ?? { cleanEndOffset: outcome.cleanEndOffset, cleanedAtMs: nowMs, deleteRetentionMs, minCompactionLagMs: policy.minCompactionLagMs };
  outcome.passes = withPass(passes, pass);
  await writeCleanerPasses(target.files.fs, target.files.dir, outcome.passes);
  return outcome;
}

/** A pass another replica (the leader) decided, repeated here on the same segments: its checkpoint entry and the checkpoint before it. */
export interface ReplayedPass {
  pass: CleanerPass;
  priorPasses: readonly CleanerPass[];
}

interface ChosenSegments {
  cleanable: Segment[];
  /** Each key of the dirty segments taken, to its highest offset there. */
  latestOffsets: Map<string, number>;
}

/** Step 1 and 2 for a pass decided here; undefined when the log changed under it. */
async function chooseSegments(
  target: CompactionTarget,
  passes: readonly CleanerPass[],
  newestAllowedMs: number,
  spend: SpendIo,
  outcome: CompactionOutcome,
): Promise<ChosenSegments | undefined> {
  // The clean section went through a pass already: each key there is unique, and its
  // records are only dropped for a newer one in the dirty section (Kafka's rule).
  const cleanEnd = cleanEndOffsetOf(passes);
  const latestOffsets = new Map<string, number>();
  const cleanable: Segment[] = [];
  let dirtyTaken = 0;
  for (const segment of target.sealedSegments()) {
    if (segment.nextOffset <= cleanEnd) {
      cleanable.push(segment);
      continue;
    }
    const read = await keysOf(target, segment, spend, outcome);
    if (read === undefined) return undefined;
    if (read.newestMs > newestAllowedMs) break;
    if (dirtyTaken > 0 && latestOffsets.size + read.keys.size > limits.cleanerKeysMax) break;
    for (const [key, offset] of read.keys) latestOffsets.set(key, offset);
    cleanable.push(segment);
    dirtyTaken++;
  }
  return { cleanable, latestOffsets };
}

/**
 * Steps 1 and 2 for a replayed pass: exactly the sealed segments below its
 * clean end (min.compaction.lag.ms, the keys cap and the high watermark
 * chose that end on the leader, so none of them is asked again); undefined
 * when this log does not hold them (yet) or changed under the pass.
 */
async function replayedSegments(
  target: CompactionTarget,
  passes: readonly CleanerPass[],
  replay: ReplayedPass,
  spend: SpendIo,
  outcome: CompactionOutcome,
): Promise<ChosenSegments | undefined> {
  const cleanable = target.segmentsBelow(replay.pass.cleanEndOffset);
  if (cleanable === undefined) return undefined;
  const cleanEnd = cleanEndOffsetOf(passes);
  const latestOffsets = new Map<string, number>();
  for (const segment of cleanable) {
    if (segment.nextOffset <= cleanEnd) continue;
    const read = await keysOf(target, segment, spend, outcome);
    if (read === undefined) return undefined;
    for (const [key, offset] of read.keys) latestOffsets.set(key, offset);
  }
  return { cleanable, latestOffsets };
}

/** A dirty segment's keys, each to its highest offset in it, and its newest record's timestamp; undefined when it is gone. */
async function keysOf(
  target: CompactionTarget,
  segment: Segment,
  spend: SpendIo,
  outcome: CompactionOutcome,
): Promise<{ keys: Map<string, number>; newestMs: number } | undefined> {
  const file = await readSegmentFile(target, segment, spend, outcome);
  if (file === undefined) return undefined;
  let newestMs = Number.NEGATIVE_INFINITY;
  const keys = new Map<string, number>();
  const pause = pauser();
  for (const batch of batchesOf(file, segment, target.files.name)) {
    await pause(batch.length);
    newestMs = Math.max(newestMs, readBatchHeader(batch).maxTimestampMs);
    for (const record of decodeRecordBatch(batch, { frameChecksumVerified: true }).records) {
      if (record.key !== null) keys.set(keyString(record.key), record.offset);
    }
  }
  return { keys, newestMs };
}

/** Rewrites one segment and swaps it in when anything was dropped; false when the log no longer holds it. */
async function cleanSegment(
  target: CompactionTarget,
  segment: Segment,
  keep: (record: FilteredRecord) => boolean,
  spend: SpendIo,
  outcome: CompactionOutcome,
): Promise<boolean> {
  const file = await readSegmentFile(target, segment, spend, outcome);
  if (file === undefined) return false;
  const { indexIntervalBytes } = target.files;
  const frames: Uint8Array[] = [];
  const index = new OffsetIndex();
  let sizeBytes = 0;
  let bytesSinceIndexEntry = indexIntervalBytes;
  let changed = false;
  let position = 0;
  const pause = pauser();
  for (const batch of batchesOf(file, segment, target.files.name)) {
    await pause(batch.length);
    const filtered = filterRecordBatch(batch, keep);
    const frameBytes = FRAME_HEADER_BYTES + batch.length;
    const frame = filtered === batch ? file.subarray(position, position + frameBytes) : encodeFrame(filtered);
    changed ||= filtered !== batch;
    position += frameBytes;
    if (bytesSinceIndexEntry >= indexIntervalBytes) {
      index.append(readBatchHeader(filtered).baseOffset - segment.baseOffset, sizeBytes);
      bytesSinceIndexEntry = 0;
    }
    frames.push(frame);
    sizeBytes += frame.length;
    bytesSinceIndexEntry += frame.length;
  }
  if (!changed) return target.holds(segment);
  if (!target.holds(segment)) return false;
  await spend(sizeBytes);
  const fd = await writeCleanedSegment(target.files, segment.baseOffset, frames, sizeBytes);
  outcome.bytesWritten += sizeBytes;
  let swapped = false;
  try {
    swapped = target.swap(segment, fd, sizeBytes, index);
  } finally {
    if (!swapped) {
      target.files.fs.close(fd);
      discardCleanedSegment(target.files, segment.baseOffset);
    }
  }
  if (swapped) {
    outcome.segmentsCleaned++;
    outcome.bytesRemoved += file.length - sizeBytes;
  }
  return swapped;
}

/** The segment's whole file, read through a descriptor of its own, charged to the budget chunk by chunk; undefined when it is gone. */
async function readSegmentFile(target: CompactionTarget, segment: Segment, spend: SpendIo, outcome: CompactionOutcome): Promise<Uint8Array | undefined> {
  const { fs } = target.files;
  if (!target.holds(segment)) return undefined;
  let fd: number;
  try {
    fd = fs.openReadOnly(segment.logPath);
  } catch {
    return undefined; // deleted meanwhile (retention)
  }
  try {
    const bytes = new Uint8Array(segment.sizeBytes);
    for (let position = 0; position < bytes.length; ) {
      const length = Math.min(limits.cleanerIoChunkBytes, bytes.length - position);
      await spend(length);
      const read = fs.read(fd, bytes, position, length, position);
      if (read <= 0) return undefined; // cut short under us: not ours to judge, the next pass sees
      position += read;
      outcome.bytesRead += read;
    }
    return target.holds(segment) ? bytes : undefined;
  } finally {
    fs.close(fd);
  }
}

/** The batches of a sealed segment's file, each frame's CRC32 checked and each following on from the last; damage throws log_corrupt. */
function* batchesOf(file: Uint8Array, segment: Segment, name: string): Generator<Uint8Array> {
  let position = 0;
  let expectedOffset = segment.baseOffset;
  const damaged = (reason: string) =>
    new GafkaError("log_corrupt", `partition ${name}: cannot compact ${segment.logPath}: ${reason} at position ${position}`, {
      details: { file: segment.logPath, position, offset: expectedOffset },
    });
  while (position < file.length) {
    if (file.length - position < FRAME_HEADER_BYTES + BATCH_HEADER_BYTES) throw damaged("a frame cut short");
    const { batchBytes, checksum } = readFrameHeader(file, position);
    const batch = file.subarray(position + FRAME_HEADER_BYTES, position + FRAME_HEADER_BYTES + batchBytes);
    if (batch.length !== batchBytes || frameChecksum(batch) !== checksum) throw damaged("a frame fails its CRC32");
    const header = readBatchHeader(batch);
    if (header.baseOffset !== expectedOffset) throw damaged(`a batch starts at offset ${header.baseOffset}, expected ${expectedOffset}`);
    yield batch;
    expectedOffset = header.baseOffset + header.lastOffsetDelta + 1;
    position += FRAME_HEADER_BYTES + batchBytes;
  }
  if (expectedOffset !== segment.nextOffset) throw damaged(`the segment ends at offset ${expectedOffset}, not ${segment.nextOffset}`);
}

/**
 * A pause for the event loop after every limits.cleanerIoChunkBytes of
 * batches worked through: decoding a large segment in one go would hold
 * appends and reads up for as long (the I/O budget paces only the disk).
 */
function pauser(): (bytes: number) => Promise<void> {
  let since = 0;
  return async (bytes) => {
    since += bytes;
    if (since < limits.cleanerIoChunkBytes) return;
    since = 0;
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
}

/** A key as a map key: its bytes one per char (latin1), exact and cheap. */
function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString("latin1");
}
