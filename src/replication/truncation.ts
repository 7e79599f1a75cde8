import type { EpochEnd, EpochEntry } from "../storage/leader-epoch-cache.ts";
import type { PartitionLogApi } from "../storage/log-types.ts";

/**
 * Where a follower's log stops agreeing with its leader's: the offset it
 * must cut back to before it appends what the leader sends (Kafka's
 * leader-epoch truncation, KIP-101/279), which never drops a record the
 * leader has at the same offset under the same epoch.
 *
 * The leader answers "where did the follower's latest epoch end?" with the
 * largest epoch it knows at or below that one, and where it ended on the
 * leader; the follower holds at most up to where that same epoch ended in
 * its own log. Both logs agree below the smaller of the two. Unlike cutting
 * back to the high watermark, this keeps every record the new leader has,
 * and drops every record written only under an epoch the leader never saw.
 */
export interface LeaderView {
  endOf(epoch: number, logEndOffset: number): EpochEnd;
  readonly logEndOffset: number;
}

export interface FollowerView {
  epochs: readonly EpochEntry[];
  logEndOffset: number;
}

export function divergenceOffset(leader: LeaderView, follower: FollowerView): number {
  if (follower.logEndOffset === 0) return 0;
  const latest = follower.epochs.length === 0 ? -1 : follower.epochs[follower.epochs.length - 1]!.epoch;
  const leaderEnd = leader.endOf(latest, leader.logEndOffset);
  const followerEnd = endOfEpoch(follower.epochs, leaderEnd.epoch, follower.logEndOffset);
  return Math.min(leaderEnd.endOffset, followerEnd, follower.logEndOffset, leader.logEndOffset);
}

/** Where `epoch` ends in a log with these epochs: the start of the first later epoch, else the log end. */
function endOfEpoch(epochs: readonly EpochEntry[], epoch: number, logEndOffset: number): number {
  for (const entry of epochs) if (entry.epoch > epoch) return entry.startOffset;
  return logEndOffset;
}

/** Where a follower's stream starts; `restart`: the follower drops its whole log and starts again, empty, at `offset`. */
export interface StreamStart {
  offset: number;
  restart: boolean;
}

/**
 * Where a follower's stream starts: where its copy stops agreeing with the
 * leader's `log`, at a batch boundary of that log. When that lies below the
 * leader's first segment (retention or DeleteRecords deleted it), the
 * follower cannot be brought level from there: it restarts at the first
 * segment's base, so the segments both hold begin at the same offsets.
 */
export function streamStart(log: PartitionLogApi, epochs: EpochEntry[], followerLogEnd: number): StreamStart {
  const offset = divergenceOffset(
    { logEndOffset: log.logEndOffset, endOf: (epoch, end) => log.leaderEpochs.endOf(epoch, end) },
    { epochs, logEndOffset: followerLogEnd },
  );
  if (offset < log.firstSegmentOffset) return { offset: log.firstSegmentOffset, restart: true };
  return { offset: offset < log.logEndOffset ? log.batchBaseOffsetOf(offset) : offset, restart: false };
}

/** `offset`, or a restart at the leader's first segment when `offset` lies below it. */
export function fromFirstSegment(log: PartitionLogApi, offset: number): StreamStart {
  const first = log.firstSegmentOffset;
  return offset < first ? { offset: first, restart: true } : { offset, restart: false };
}
