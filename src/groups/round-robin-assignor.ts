import {
  type Assignment,
  type Assignor,
  type AssignorMember,
  emptyAssignment,
  sortedMembers,
  subscribedPartitions,
} from "./assignor.ts";

/**
 * The seed's round-robin: the sorted partitions of all subscribed topics are
 * dealt to the members in member-id order, each partition to the next member
 * in the circle that subscribes to its topic. So while any subscriber of a
 * topic lives, every partition of that topic has an owner.
 */
export const roundRobinAssignor: Assignor = {
  name: "round-robin",
  assign(members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): Assignment {
    const circle = sortedMembers(members);
    const assignment = emptyAssignment(circle);
    let next = 0;
    for (const tp of subscribedPartitions(circle, partitionCounts)) {
      for (let tried = 0; tried < circle.length; tried++) {
        const member = circle[(next + tried) % circle.length]!;
        if (member.topics.includes(tp.topic)) {
          assignment.get(member.memberId)!.push(tp);
          next = (next + tried + 1) % circle.length;
          break;
        }
      }
    }
    return assignment;
  },
};
