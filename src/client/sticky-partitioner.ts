/**
 * Where a producer puts its keyless records: Kafka's sticky partitioner
 * (KIP-480, the Java producer's default since Kafka 2.4). Every keyless record
 * of a topic goes to the partition the producer is stuck to until the batch
 * they fill closes: full (batchSize records or batchBytesMax estimated bytes
 * appended to the partition since it stuck), or sent (its linger passed, a
 * round trip ended or a flush came, and the send took the partition's last
 * record). The next keyless record then sticks to the next partition in turn.
 * Spread record by record instead (round-robin), a producer fills each of N
 * partitions' batches 1/N as full: at 64 partitions, 64 times the requests
 * for the same records, each paying its overhead in client and broker. Stuck,
 * batches stay full whatever the partition count, and over N closed batches
 * every partition gets one, so none is starved.
 *
 * Kafka picks the next partition at random; moving on in turn is as even, and
 * a test can tell what comes next. Each topic starts at `firstPartition` (by
 * default a random one), so that producers started together do not all stick
 * to the same partition at the same time. Keyed and explicitly placed records
 * are not placed here, but they count towards the batch they share.
 */
export class StickyPartitioner {
  /** Per topic: the partition keyless records go to, what went to it since, and whether its batch has closed. */
  private readonly stuck = new Map<string, { partition: number; records: number; bytes: number; closed: boolean }>();

  constructor(
    private readonly batchSize: number,
    private readonly batchBytesMax: number,
    private readonly firstPartition: (partitionCount: number) => number = randomPartition,
  ) {}

  /** The partition for the topic's next keyless record. */
  partition(topic: string, partitionCount: number): number {
    const current = this.stuck.get(topic);
    if (current === undefined) {
      const partition = this.firstPartition(partitionCount) % partitionCount;
      this.stuck.set(topic, { partition, records: 0, bytes: 0, closed: false });
      return partition;
    }
    // The count may have changed under us (the topic deleted and recreated).
    if (current.closed || current.partition >= partitionCount) {
      current.partition = (current.partition + 1) % partitionCount;
      current.records = 0;
      current.bytes = 0;
      current.closed = false;
    }
    return current.partition;
  }

  /** A record of `bytes` (estimated, as batches count them) joined the partition's queue, however it was placed. */
  appended(topic: string, partition: number, bytes: number): void {
    const current = this.stuck.get(topic);
    if (current === undefined || current.partition !== partition) return;
    current.records++;
    current.bytes += bytes;
    if (current.records >= this.batchSize || current.bytes >= this.batchBytesMax) current.closed = true;
  }

  /** A send took everything queued for the partition: a record for it now would open a new batch. */
  drained(topic: string, partition: number): void {
    const current = this.stuck.get(topic);
    if (current !== undefined && current.partition === partition) current.closed = true;
  }
}

function randomPartition(partitionCount: number): number {
  return Math.floor(Math.random() * partitionCount);
}
