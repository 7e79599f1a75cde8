import type { FinalState, History, OwnershipClaim } from "./history.ts";

/**
 * Judges a partition scenario's history against the cluster's final state
 * (issue 13, rule 6). Pure: no I/O, no clock. Four properties:
 *
 * 1. Every acknowledged write is present exactly once, at the offset it was
 *    acknowledged at. Reported per acks level: an acks=1 write may be lost in
 *    a failover by design; an acks=all write under min.insync >= 2 never.
 * 2. No record a consumer was shown later disappears (a dirty read): the
 *    final log holds the same value at that offset.
 * 3. No committed offset goes back past an acknowledged commit: the final
 *    committed offset of a partition is at least the highest one any
 *    coordinator acknowledged.
 * 4. One owner per partition at a time (see `overlapCounts`).
 */

export interface LostWrite {
  value: string;
  partition: number;
  offset: number;
  acks: string;
  broker: string;
  /** What the final log holds at that offset instead (undefined: nothing). */
  foundValue: string | undefined;
}

export interface TwoOwners {
  partition: number;
  members: [string, string];
  coordinators: [string, string];
  generations: [number, number];
  fromMs: number;
  toMs: number;
}

export interface CheckReport {
  acknowledged: { all: number; one: number; zero: number };
  /** acks=all writes acknowledged and missing (or elsewhere) in the final log. */
  lostAll: LostWrite[];
  /** acks=1 writes acknowledged and missing: allowed by acks=1, reported for the record. */
  lostOne: LostWrite[];
  /** Values present more than once in the final log (each value is written once). */
  duplicated: string[];
  readsChecked: number;
  dirtyReads: { value: string; partition: number; offset: number; broker: string; foundValue: string | undefined }[];
  commitsBackwards: { partition: number; acknowledged: number; broker: string; final: number | undefined }[];
  twoOwners: TwoOwners[];
  /** Longest single two-owner moment, ms (0 when none). */
  twoOwnersLongestMs: number;
}

export function checkHistory(history: History, final: FinalState): CheckReport {
  const at = new Map<string, string>(); // "partition:offset" -> value
  const seenValues = new Map<string, number>();
  for (const [partition, records] of final.records) {
    for (const record of records) {
      at.set(`${partition}:${record.offset}`, record.value);
      seenValues.set(record.value, (seenValues.get(record.value) ?? 0) + 1);
    }
  }

  const acknowledged = { all: 0, one: 0, zero: 0 };
  const lostAll: LostWrite[] = [];
  const lostOne: LostWrite[] = [];
  for (const ack of history.produced) {
    if (ack.acks === "0") {
      acknowledged.zero++; // acks=0 is told nothing: no offset to hold it to
      continue;
    }
    if (ack.acks === "all") acknowledged.all++;
    else acknowledged.one++;
    const foundValue = at.get(`${ack.partition}:${ack.offset}`);
    if (foundValue === ack.value) continue;
    const lost = { value: ack.value, partition: ack.partition, offset: ack.offset, acks: ack.acks, broker: ack.broker, foundValue };
    (ack.acks === "all" ? lostAll : lostOne).push(lost);
  }
  const duplicated = [...seenValues].filter(([, count]) => count > 1).map(([value]) => value);

  const dirtyReads: CheckReport["dirtyReads"] = [];
  for (const read of history.reads) {
    const foundValue = at.get(`${read.partition}:${read.offset}`);
    if (foundValue !== read.value) dirtyReads.push({ value: read.value, partition: read.partition, offset: read.offset, broker: read.broker, foundValue });
  }

  const highestCommit = new Map<number, { offset: number; broker: string }>();
  for (const commit of history.commits) {
    const best = highestCommit.get(commit.partition);
    if (best === undefined || commit.offset > best.offset) highestCommit.set(commit.partition, { offset: commit.offset, broker: commit.broker });
  }
  const commitsBackwards: CheckReport["commitsBackwards"] = [];
  for (const [partition, best] of highestCommit) {
    const finalOffset = final.committed.get(partition);
    if (finalOffset === undefined || finalOffset < best.offset) {
      commitsBackwards.push({ partition, acknowledged: best.offset, broker: best.broker, final: finalOffset });
    }
  }

  const twoOwners = overlappingOwners(history.ownership);
  return {
    acknowledged,
    lostAll,
    lostOne,
    duplicated,
    readsChecked: history.reads.length,
    dirtyReads,
    commitsBackwards,
    twoOwners,
    twoOwnersLongestMs: twoOwners.reduce((longest, o) => Math.max(longest, o.toMs - o.fromMs), 0),
  };
}

/**
 * Pairs of claims on one partition by two members whose times overlap and
 * which no single coordinator ordered. Within one coordinator (same broker,
 * same leader epoch) a later generation takes a partition from an earlier
 * one, and the earlier owner learns it at its next call: that hand-off is
 * the ordinary rebalance, fenced by the generation (the old owner's commits
 * are refused), and is not counted. Claims from two coordinators (two
 * brokers, or one broker under two epochs) — or two members in the same
 * generation — are two owners at once.
 */
export function overlappingOwners(claims: OwnershipClaim[]): TwoOwners[] {
  const byPartition = new Map<number, OwnershipClaim[]>();
  for (const claim of claims) {
    if (claim.toMs <= claim.fromMs) continue;
    const list = byPartition.get(claim.partition) ?? [];
    list.push(claim);
    byPartition.set(claim.partition, list);
  }
  const found: TwoOwners[] = [];
  for (const [partition, list] of byPartition) {
    list.sort((a, b) => a.fromMs - b.fromMs);
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (b.fromMs >= a.toMs) break; // sorted by start: no later claim overlaps a
        if (a.member === b.member) continue;
        const sameCoordinator = coordinatorKey(a) === coordinatorKey(b);
        if (sameCoordinator && a.generation !== b.generation) continue;
        found.push({
          partition,
          members: [a.member, b.member],
          coordinators: [coordinatorKey(a), coordinatorKey(b)],
          generations: [a.generation, b.generation],
          fromMs: b.fromMs,
          toMs: Math.min(a.toMs, b.toMs),
        });
      }
    }
  }
  return found;
}

function coordinatorKey(claim: OwnershipClaim): string {
  return `${claim.coordinator}@${claim.leaderEpoch ?? "?"}`;
}

/** One line per property, for logs and the bench's summary. */
export function summarize(report: CheckReport): string {
  return [
    `acknowledged acks=all ${report.acknowledged.all}, acks=1 ${report.acknowledged.one}`,
    `lost acks=all ${report.lostAll.length}, lost acks=1 ${report.lostOne.length}, duplicated ${report.duplicated.length}`,
    `dirty reads ${report.dirtyReads.length} of ${report.readsChecked}`,
    `commits backwards ${report.commitsBackwards.length}`,
    `two-owner moments ${report.twoOwners.length} (longest ${Math.round(report.twoOwnersLongestMs)} ms)`,
  ].join("; ");
}
