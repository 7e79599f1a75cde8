import { type Admin, isGafkaClientError } from "../client/index.ts";

/**
 * The topic's partition count, creating the topic with `partitions` when it
 * does not exist. An existing topic keeps its own count (the run reports
 * the count it actually used).
 */
export async function ensureTopic(admin: Admin, topic: string, partitions: number): Promise<{ partitions: number; created: boolean }> {
  try {
    return { partitions: (await admin.describeTopic(topic)).partitions.length, created: false };
  } catch (error) {
    if (!isGafkaClientError(error) || error.code !== "topic_not_found") throw error;
  }
  try {
    return { partitions: (await admin.createTopic({ name: topic, partitions })).partitions.length, created: true };
  } catch (error) {
    // Another client created it meanwhile.
    if (!isGafkaClientError(error) || error.code !== "topic_exists") throw error;
    return { partitions: (await admin.describeTopic(topic)).partitions.length, created: false };
  }
}

/** The topic's partition count; rejects with `topic_not_found` when it does not exist. */
export async function topicPartitions(admin: Admin, topic: string): Promise<number> {
  return (await admin.describeTopic(topic)).partitions.length;
}
