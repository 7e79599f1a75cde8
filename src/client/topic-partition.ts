/** A partition of a topic, as group assignments and committed offsets name it. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A partition and an offset in it: for a commit, the next offset the group will consume. */
export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
}

/** `topic/partition`, a map key for a partition. */
export function partitionKey(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}
