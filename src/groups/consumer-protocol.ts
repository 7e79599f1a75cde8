import type { TopicPartition } from "./assignor.ts";

/**
 * What gafka reads of Kafka's consumer protocol (protocol type "consumer"),
 * the bytes a Kafka consumer group's members exchange through JoinGroup and
 * SyncGroup and the broker only passes on: enough to show a Kafka group's
 * topics and assignment beside the HTTP groups' (status, lag, metrics).
 *
 * ConsumerProtocolSubscription: version int16, topics [int32 count][int16
 * length + UTF-8 name], then fields gafka does not read (user data, owned
 * partitions, rack). ConsumerProtocolAssignment: version int16, assigned
 * partitions [int32 count]{topic: int16 length + UTF-8, partitions: [int32
 * count][int32]}, then user data. Every version so far starts so. Bytes that
 * do not parse (another protocol type, a client's bug) read as nothing: they
 * are the members' business, not the broker's.
 */
export function subscribedTopics(bytes: Uint8Array): string[] {
  try {
    const reader = new Reader(bytes);
    reader.int16();
    const topics: string[] = [];
    for (let count = reader.arrayLength(); count > 0; count--) topics.push(reader.string());
    return topics;
  } catch {
    return [];
  }
}

export function assignedPartitions(bytes: Uint8Array): TopicPartition[] {
  try {
    const reader = new Reader(bytes);
    reader.int16();
    const assigned: TopicPartition[] = [];
    for (let topics = reader.arrayLength(); topics > 0; topics--) {
      const topic = reader.string();
      for (let partitions = reader.arrayLength(); partitions > 0; partitions--) assigned.push({ topic, partition: reader.int32() });
    }
    return assigned;
  } catch {
    return [];
  }
}

class Reader {
  private position = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  int16(): number {
    const value = this.view.getInt16(this.position);
    this.position += 2;
    return value;
  }

  int32(): number {
    const value = this.view.getInt32(this.position);
    this.position += 4;
    return value;
  }

  /** A count, refused when the bytes left could not hold that many entries of at least 2 bytes (no huge loops on garbage). */
  arrayLength(): number {
    const count = this.int32();
    if (count < 0) return 0;
    if (count * 2 > this.bytes.length - this.position) throw new RangeError("array longer than the bytes");
    return count;
  }

  string(): string {
    const length = this.int16();
    if (length < 0 || this.position + length > this.bytes.length) throw new RangeError("string past the end");
    const text = new TextDecoder().decode(this.bytes.subarray(this.position, this.position + length));
    this.position += length;
    return text;
  }
}
