/**
 * Everything a principal may ask of a broker, whichever door it came in by,
 * and what it acts on. The domain's gate (src/broker/write-gate.ts) is asked
 * about each before the domain acts; an AccessPolicy (access-policy.ts)
 * decides whether the principal may, replication whether this broker may
 * take a write now.
 */
export type Operation =
  | "produce"
  | "create_topic"
  | "delete_topic"
  /** Kafka's DeleteRecords: moves a partition's log start forward. */
  | "delete_records"
  /** A topic's settings: set and remove overrides (Kafka's IncrementalAlterConfigs). */
  | "alter_topic_config"
  /** A topic's partitions and offsets (describe, and each name a list shows). */
  | "describe_topic"
  /** Records read by offset, outside any group. */
  | "consume"
  | "group_join"
  | "group_heartbeat"
  | "group_leave"
  /** A group member's consume call: it may join, and it commits what the previous call delivered. */
  | "group_consume"
  | "group_commit"
  | "group_reset_offsets"
  | "group_delete"
  /** A group's status (members, committed offsets, lag). */
  | "group_describe"
  /** Each group a list of groups shows. */
  | "group_list"
  /** A broker's replication calls: a follower's stream and acks, a leader's announcement. */
  | "replicate"
  /** Make a follower the leader (`admin promote`). */
  | "promote"
  /** The cluster's state: replication status, metrics. */
  | "describe_cluster"
  /** Users, tokens and ACLs: list them. */
  | "describe_security"
  /** Users, tokens and ACLs: add, change, remove. */
  | "alter_security";

/** What an operation acts on. */
export type Resource = { kind: "topic"; name: string } | { kind: "group"; id: string } | { kind: "cluster" };

export const CLUSTER: Resource = Object.freeze({ kind: "cluster" });

/** Kafka's ACL operations, as `admin acls` spells them. */
export type AclOperation = "read" | "write" | "create" | "delete" | "describe" | "alter" | "cluster_action";

/**
 * The ACL operation each request needs on its resource, as Kafka's
 * authorizer asks (produce: WRITE on the topic; a group member's calls: READ
 * on the group; promote: ALTER on the cluster; replication: CLUSTER_ACTION).
 * A group member's consume or commit also needs READ on each topic it
 * reads; the caller asks for that with `consume` on the topic.
 */
export const ACL_OPERATION: Record<Operation, AclOperation> = {
  produce: "write",
  create_topic: "create",
  delete_topic: "delete",
  delete_records: "delete",
  alter_topic_config: "alter",
  describe_topic: "describe",
  consume: "read",
  group_join: "read",
  group_heartbeat: "read",
  group_leave: "read",
  group_consume: "read",
  group_commit: "read",
  group_reset_offsets: "read",
  group_delete: "delete",
  group_describe: "describe",
  group_list: "describe",
  replicate: "cluster_action",
  promote: "alter",
  describe_cluster: "describe",
  describe_security: "describe",
  alter_security: "alter",
};
