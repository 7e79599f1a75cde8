import {
  type Assignment,
  type Assignor,
  type AssignorMember,
  comparePartitions,
  emptyAssignment,
  partitionKey,
  sortedMembers,
  subscribedPartitions,
  type TopicPartition,
} from "./assignor.ts";

/**
 * Moves only what must move. Members keep the partitions they owned (while
 * they still subscribe and the partition exists); partitions without an owner
 * go to the least-loaded eligible member; then, only while some member holds
 * two or more partitions than an eligible peer, one partition at a time moves
 * from the most to the least loaded. A member leaving therefore moves only its
 * own partitions; a member joining takes just enough to even the load.
 */
export const stickyAssignor: Assignor = {
  name: "sticky",
  assign(members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): Assignment {
    const ordered = sortedMembers(members);
    const assignment = emptyAssignment(ordered);
    const all = subscribedPartitions(ordered, partitionCounts);
    const exists = new Set(all.map(partitionKey));
    const taken = new Set<string>();

    for (const member of ordered) {
      const kept = assignment.get(member.memberId)!;
      for (const tp of member.owned) {
        const key = partitionKey(tp);
        if (exists.has(key) && !taken.has(key) && member.topics.includes(tp.topic)) {
          kept.push({ topic: tp.topic, partition: tp.partition });
          taken.add(key);
        }
      }
    }

    const eligible = (tp: TopicPartition) => ordered.filter((m) => m.topics.includes(tp.topic));
    const load = (member: AssignorMember) => assignment.get(member.memberId)!.length;
    const leastLoaded = (candidates: AssignorMember[]) =>
      candidates.reduce((best, m) => (load(m) < load(best) ? m : best), candidates[0]!);

    for (const tp of all) {
      if (taken.has(partitionKey(tp))) continue;
      const candidates = eligible(tp);
      if (candidates.length === 0) continue;
      assignment.get(leastLoaded(candidates).memberId)!.push(tp);
      taken.add(partitionKey(tp));
    }

    // Even out: move one partition at a time from a member to an eligible peer
    // holding at least two fewer. Bounded: each move lowers the spread.
    for (let moves = 0; moves < all.length * ordered.length; moves++) {
      let moved = false;
      for (const donor of [...ordered].sort((a, b) => load(b) - load(a))) {
        const owned = assignment.get(donor.memberId)!;
        for (let i = owned.length - 1; i >= 0 && !moved; i--) {
          const tp = owned[i]!;
          const receivers = eligible(tp).filter((m) => load(m) + 1 < owned.length);
          if (receivers.length === 0) continue;
          owned.splice(i, 1);
          assignment.get(leastLoaded(receivers).memberId)!.push(tp);
          moved = true;
        }
        if (moved) break;
      }
      if (!moved) break;
    }

    for (const owned of assignment.values()) owned.sort(comparePartitions);
    return assignment;
  },
};
