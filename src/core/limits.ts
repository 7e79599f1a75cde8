/**
 * Every limit gafka enforces, in one place (spec/seed.md §4 "System limits").
 * A limit hit is a clear error, never a slow death.
 */
export const limits = {
  /**
   * Bytes of the commit journal (src/storage/commit-journal.ts) after which a
   * checkpoint fdatasyncs the partitions written and the older journal files
   * are deleted: bounds the journal's disk use and what a crash replays.
   */
  journalCheckpointBytes: 64 * 1024 * 1024,
  /**
   * A partition's commit round of fewer bytes is made durable by the commit
   * journal, a larger one by an fdatasync of its own segment: on this
   * project's reference machine an fdatasync costs about what writing 64 KiB
   * twice does (bench/RESULTS.md, "Issue 18"), so small rounds from many
   * partitions share one flush while large ones are not written twice.
   */
  journalRoundBytesMax: 64 * 1024,
  /**
   * Partitions' own segment fdatasyncs that run at once before a small round
   * goes through the commit journal instead: a few busy partitions keep
   * their own parallel flushes (one shared journal fdatasync would make each
   * wait for the one before it, doubling the latency tail at 2 partitions,
   * bench/RESULTS.md "Issue 18"), many share one.
   */
  journalDirectSyncsMax: 4,
  /** Largest record value + key + headers accepted by default (`--max-message-bytes`). */
  messageBytesMaxDefault: 1024 * 1024,
  /** Largest HTTP request body; a batch may carry many messages. */
  requestBytesMax: 64 * 1024 * 1024,
  /**
   * Request-body bytes the broker holds at once, all requests together
   * (`--request-bytes-in-flight-max`); a body that does not fit is refused
   * with a retriable 503 server_busy (src/http/body-budget.ts). Four bodies
   * of the largest size: a JSON body costs a few times its bytes while it is
   * decoded and parsed, so this keeps a broker under ~1 GiB of body memory
   * however many clients push at once.
   */
  requestBytesInFlightMaxDefault: 256 * 1024 * 1024,
  /**
   * Bodies up to this size (heartbeats, commits, topic creation, small
   * produces) may use the whole budget; larger ones leave its last
   * 1/requestBytesInFlightSmallShare to them, so large produces cannot starve them.
   */
  requestBodySmallBytesMax: 64 * 1024,
  requestBytesInFlightSmallShare: 8,
  /**
   * Largest Kafka request, its 4-byte size prefix aside (Kafka's
   * socket.request.max.bytes). A larger size prefix closes the connection
   * before anything is read, as Kafka does: the client cannot be answered.
   */
  kafkaRequestBytesMax: 100 * 1024 * 1024,
  /** A Kafka connection with no request for this long is closed (Kafka's connections.max.idle.ms). */
  kafkaConnectionIdleMsDefault: 10 * 60 * 1000,
  /**
   * Received but unanswered Kafka requests one connection may hold, and so
   * at most as many handled at once (pipelined produces then share an
   * fsync); past it the listener stops reading that socket until answers go
   * out, so a client pipelining without end is held back by TCP rather than by memory.
   * 64, above librdkafka's habit of 50 in flight (kcat, confluent clients): a
   * producer sending one record per request keeps all 50 going, and the
   * more requests share an fsync, the fewer fsyncs per record. Memory stays
   * bounded by kafkaPipelinedRequestBytesMax, not by this count.
   */
  kafkaPipelinedRequestsMax: 64,
  /**
   * Bytes of received, unanswered Kafka requests one connection may hold
   * before the listener stops reading it (whatever their count), so a
   * connection holds at most this much plus the one request being received
   * (up to kafkaRequestBytesMax). 32 MiB keeps ~32 pipelined 1 MiB batched
   * produces going (enough for them to share fsyncs) while many connections
   * of large requests cannot add up to gigabytes.
   */
  kafkaPipelinedRequestBytesMax: 32 * 1024 * 1024,
  /**
   * Bytes of large Kafka request buffers the listener keeps, free, for the
   * next requests (src/kafka/request-buffer-pool.ts): memory warm and
   * already mapped, where a fresh buffer per ~1 MiB batched produce costs
   * page faults, zeroing and garbage collection. 64 MiB holds two
   * connections' worth of pipelined 1 MiB produces.
   */
  kafkaRequestBufferPoolBytesMax: 64 * 1024 * 1024,
  /** Records in one produce request. */
  recordsPerRequestMax: 100_000,
  /** Partitions a topic may have. */
  partitionsPerTopicMax: 100,
  /** Partitions of a topic created without a count (HTTP without `partitions`, Kafka's CreateTopics with -1: Kafka's num.partitions). */
  topicPartitionsDefault: 1,
  /**
   * Partitions one broker may hold by default (`--partitions-max`; 409
   * limit_reached past it). A partition holds no descriptor while idle (the
   * pool below), so the open-file limit does not bound them; memory does
   * (about 15 KB per empty partition) and so does the start, which opens
   * every partition's log (10,000 empty ones in well under 2 s).
   */
  partitionsPerBrokerMaxDefault: 10_000,
  /** The most `--partitions-max` may raise the cap to. */
  partitionsPerBrokerMax: 100_000,
  /**
   * Segment-file descriptors the broker's pool keeps open at most
   * (`--segment-files-open-max`; src/storage/descriptor-pool.ts): files
   * beyond it are closed, least recently used first, and opened again when
   * used. By default this many, and never more than half the process's
   * open-file limit (src/broker/open-files.ts): the other half is for
   * connections, replication streams, the offset store and files opened for
   * a moment (indexes, checkpoints, the cleaner's reads).
   */
  segmentFilesOpenMaxDefault: 1000,
  /** Consumer groups one broker coordinates, live or with committed offsets (`--groups-max`). */
  groupsMaxDefault: 10_000,
  /**
   * Topic names: 1..249 characters of [A-Za-z0-9._-], not "." or "..".
   * Kafka's limit: a partition's directory is `<name>-<partition>` and must
   * fit a file name's 255 bytes (ext4, xfs, tmpfs), so 255 would leave no
   * room for the partition.
   */
  topicNameLengthMax: 249,
  /**
   * Longest name a data dir's topics.json may hold: names up to 255 were
   * taken before the 249 limit, and a topic that was created keeps loading.
   */
  storedTopicNameLengthMax: 255,
  /** Consumer and group ids (the seed's 128 for URL length). */
  consumerIdLengthMax: 128,
  /** Members one consumer group may have, and the session timeouts a member may ask for. */
  groupMembersMax: 1000,
  sessionTimeoutMsDefault: 10_000,
  sessionTimeoutMsMin: 100,
  sessionTimeoutMsMax: 300_000,
  /**
   * The session timeouts a member of a Kafka (classic protocol) group may ask
   * for: Kafka's group.min.session.timeout.ms and group.max.session.timeout.ms
   * defaults (outside them JoinGroup answers INVALID_SESSION_TIMEOUT).
   */
  kafkaGroupSessionTimeoutMsMin: 6_000,
  kafkaGroupSessionTimeoutMsMax: 1_800_000,
  /** The longest a Kafka group's rebalance may wait for its members to rejoin, whatever they ask for. */
  kafkaGroupRebalanceTimeoutMsMax: 300_000,
  /** The longest a member id handed out with MEMBER_ID_REQUIRED keeps, from the client id it starts with. */
  kafkaMemberIdClientIdLengthMax: 64,
  /** Header keys per record and their length. */
  headersPerRecordMax: 64,
  headerKeyLengthMax: 255,
  /** Records one consume call may return. */
  consumeCountMax: 10_000,
  consumeCountDefault: 100,
  /** Bytes one consume call reads from the log (at least one batch is always returned). */
  consumeBytesMax: 16 * 1024 * 1024,
  /** Longest long poll, and how many may wait at once across the broker (a group member's poll counts once, whatever its partitions). */
  fetchWaitMsMax: 30_000,
  waitingPollsMax: 10_000,
  /** Default segment size before a roll (`--segment-bytes`). */
  segmentBytesDefault: 128 * 1024 * 1024,
  segmentBytesMin: 1024,
  /**
   * How long a segment deleted from the front of a log (retention,
   * DeleteRecords) lies renamed `.deleted` before its files are removed; a
   * clean stop removes them at once. Kafka's file.delete.delay.ms is a
   * minute, for readers that still map the file; here no read reaches a
   * segment once it left the list (reads are synchronous, and a cleaner pass
   * holds its own descriptor, which outlives the unlink), and a minute of
   * `.deleted` files under a fast producer is gigabytes the disk does not
   * get back (bench/retention.ts measured 2.5 GB per partition at 125 MB/s).
   */
  segmentFileDeleteDelayMs: 1000,
  /** How often a broker applies delete retention to its partitions (`--retention-check-interval`, Kafka's log.retention.check.interval.ms). */
  retentionCheckIntervalMsDefault: 5 * 60_000,
  /** How often a leader looks for active segments older than their topic's segment.ms (so a quiet partition still rolls). */
  segmentAgeCheckIntervalMs: 1000,
  /** One sparse index entry per this many log bytes. */
  indexIntervalBytes: 4096,
  /**
   * Distinct keys the log cleaner maps in one pass (as Kafka's
   * log.cleaner.dedupe.buffer.size bounds its offset map): a pass stops
   * taking segments once they hold more, and the next pass goes on.
   */
  cleanerKeysMax: 1_000_000,
  /** Bytes the log cleaner reads or writes between two throttle checks. */
  cleanerIoChunkBytes: 1024 * 1024,
  /** Default I/O rate of the log cleaner, reads and writes together (`--cleaner-io-mb-per-s`). */
  cleanerIoMbPerSecondDefault: 50,
  /** How often the log cleaner looks for a partition to clean (Kafka's log.cleaner.backoff.ms). */
  cleanerBackoffMs: 15_000,
  /** Dirty share of a partition's sealed bytes below which the cleaner leaves it alone (Kafka's min.cleanable.dirty.ratio). */
  cleanerDirtyRatioMin: 0.5,
  /** Largest batch frame recovery will believe; anything larger is damage. */
  frameBytesMax: 256 * 1024 * 1024,
  /** Frames the leader puts in one replication message (at least one whole frame goes). */
  replicationChunkBytes: 1024 * 1024,
  /** Largest replication stream message a follower accepts: one frame and its envelope. */
  replicationMessageBytesMax: 256 * 1024 * 1024 + 64 * 1024,
  /**
   * Offset-store writes kept awaiting their replication acknowledgement
   * (min.insync.replicas >= 2); past it a commit is refused (503
   * not_enough_replicas) until the followers catch up.
   */
  offsetWritesUnacknowledgedMax: 10_000,
  /** Followers one leader streams to at once. */
  followersMax: 16,
  /** User names: 1..128 characters of [A-Za-z0-9._@-] (userNameProblem). */
  userNameLengthMax: 128,
  /**
   * Password length in UTF-8 bytes. The floor refuses trivial passwords; the
   * ceiling bounds what one PBKDF2 run hashes and what a Basic header carries.
   */
  passwordBytesMin: 8,
  passwordBytesMax: 1024,
  /**
   * PBKDF2 iterations of a SCRAM credential: Kafka's bounds for
   * alter-user-scram-credentials (4096 is RFC 7677's minimum and the
   * default); the ceiling bounds what one login can cost the broker.
   */
  scramIterationsMin: 4096,
  scramIterationsMax: 16_384,
  scramIterationsDefault: 4096,
  /** Users, bearer tokens and ACL bindings one cluster's credential store holds (security.json stays a few MiB). */
  usersMax: 10_000,
  tokensMax: 10_000,
  aclsMax: 10_000,
  /** A token's description, in characters. */
  tokenDescriptionLengthMax: 256,
  /** Longest lifetime a token may be given (ten years). */
  tokenLifetimeMsMax: 10 * 365 * 24 * 3600 * 1000,
  /** An ACL's resource name (a topic or group name, or a prefix of one). */
  aclResourceNameLengthMax: 255,
  /** Characters after `Basic ` a request may send: base64 of the longest user name, a colon and the longest password. */
  basicCredentialsLengthMax: 4 * Math.ceil((128 + 1 + 1024) / 3),
  /** Verified Basic credentials kept so a password is not re-derived (PBKDF2) on every request, and for how long. */
  basicCacheEntriesMax: 1024,
  basicCacheTtlMs: 60_000,
  /**
   * How long a leader keeps a follower it has not heard from (no stream, no
   * ack) and that is in no in-sync set, before it drops it (`--follower-expiry`).
   */
  followerExpiryMsDefault: 10 * 60_000,
  /** Shortest cluster secret (`--cluster-secret-file`, trimmed): 32 characters, what `openssl rand -base64 32` gives is 44. */
  clusterSecretLengthMin: 32,
  /** How far a peer proof's timestamp may be from this broker's wall clock, either way (clock skew plus transit). */
  peerProofWindowMs: 60_000,
  /**
   * Peer-proof nonces remembered to refuse a replay within the window. Only
   * proofs with a valid MAC enter, so only brokers holding the secret fill it;
   * a follower acking 1,000 times a second for a minute needs 60,000.
   */
  peerProofNoncesMax: 200_000,
} as const;

/**
 * The highest leader epoch gafka accepts from anywhere (the network, a file).
 * Kafka's leader epoch is an int32; one value stays free above it so that
 * nothing accepted can make the next epoch overflow, and a promote that would
 * pass it is refused instead (409 leader_epoch_exhausted).
 */
export const LEADER_EPOCH_MAX = 2 ** 31 - 2;

/** Whether `value` is a leader epoch gafka accepts: a safe integer in [0, LEADER_EPOCH_MAX]. */
export function isLeaderEpoch(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && value <= LEADER_EPOCH_MAX;
}

export type Limits = typeof limits;

const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;

/**
 * Returns a reason the topic name is invalid, or undefined when it is fine.
 * `lengthMax` is the limit for new topics unless a caller reading stored ones says otherwise.
 */
export function topicNameProblem(name: unknown, lengthMax: number = limits.topicNameLengthMax): string | undefined {
  if (typeof name !== "string" || name.length === 0) return "topic name must be a non-empty string";
  if (name.length > lengthMax) return `topic name is longer than ${lengthMax} characters`;
  if (!NAME_PATTERN.test(name)) return "topic name may contain only A-Z a-z 0-9 . _ -";
  if (name === "." || name === "..") return "topic name may not be '.' or '..'";
  return undefined;
}

const USER_NAME_PATTERN = /^[A-Za-z0-9._@-]+$/;

/**
 * Returns a reason the user name is invalid, or undefined when it is fine.
 * No `:` (HTTP Basic splits there), no `,` or `=` (SCRAM escapes them), no
 * `*` (ACLs' wildcard principal), no spaces.
 */
export function userNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || name.length === 0) return "user name must be a non-empty string";
  if (name.length > limits.userNameLengthMax) return `user name is longer than ${limits.userNameLengthMax} characters`;
  if (!USER_NAME_PATTERN.test(name)) return "user name may contain only A-Z a-z 0-9 . _ @ -";
  return undefined;
}

/** Returns a reason the consumer/group id is invalid, or undefined when it is fine. */
export function idProblem(kind: string, id: unknown): string | undefined {
  if (typeof id !== "string" || id.length === 0) return `${kind} must be a non-empty string`;
  if (id.length > limits.consumerIdLengthMax)
    return `${kind} is longer than ${limits.consumerIdLengthMax} characters`;
  if (!NAME_PATTERN.test(id)) return `${kind} may contain only A-Z a-z 0-9 . _ -`;
  return undefined;
}
