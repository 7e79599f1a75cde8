/**
 * Who may commit group offsets, and when a commit is acknowledged: decided by
 * replication (src/replication/replica-manager.ts), as WriteGuard decides for
 * records. A commit is written to the offset store (durable on this broker)
 * and then acknowledged only once min.insync.replicas replicas, this one
 * included, hold it (issue 13, rule 3); without a guard (no replication) a
 * durable commit is acknowledged.
 */
export interface CommitGuard {
  /**
   * Throws not_leader when this broker may not commit, or not_enough_replicas
   * when too few replicas could hold a commit now (nothing is written);
   * returns the leadership term the commit is taken under.
   */
  admitCommit(): number;
  /**
   * Resolves once the offset-store write `sequence`, taken under `term`, is
   * held by enough replicas; rejects with not_leader when the term ended, or
   * not_enough_replicas_after_append when the copies cannot come (the commit
   * stays stored on this broker, unacknowledged).
   */
  settleCommit(term: number, sequence: number): Promise<void>;
}
