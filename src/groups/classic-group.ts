/**
 * A consumer group of Kafka's classic protocol (client-side assignment), in
 * memory as the HTTP groups are (src/groups/group.ts): its state, its
 * members with the protocols each supports, the generation and its leader.
 * Committed offsets are not here: they live in the shared OffsetStore.
 *
 * States, as Kafka's GroupCoordinator names them:
 * - Empty: no members (perhaps committed offsets).
 * - PreparingRebalance: members are (re)joining; the join completes when
 *   every known member has rejoined or the rebalance timeout passes.
 * - CompletingRebalance: the generation is formed; members wait for the
 *   leader's assignment (SyncGroup).
 * - Stable: every member has its assignment; heartbeats keep members alive.
 * - Dead: the group was deleted.
 */
import { assert } from "../core/assert.ts";

export type ClassicGroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

/**
 * The classic protocol's own answers, in its vocabulary: the Kafka door
 * maps each to Kafka's error code (src/kafka/error-codes.ts). They are
 * answers, not failures of the broker; failures of the gate are GafkaErrors.
 */
export type ClassicGroupError =
  | "invalid_group_id"
  | "invalid_session_timeout"
  | "inconsistent_group_protocol"
  | "member_id_required"
  | "unknown_member_id"
  | "illegal_generation"
  | "rebalance_in_progress"
  | "group_max_size_reached"
  | "coordinator_not_available";

export interface GroupProtocol {
  readonly name: string;
  readonly metadata: Uint8Array;
}

export interface JoinAnswer {
  error: ClassicGroupError | null;
  generationId: number;
  protocolName: string;
  leader: string;
  memberId: string;
  /** Every member's metadata for the chosen protocol: for the leader only, empty for the others. */
  members: { memberId: string; metadata: Uint8Array }[];
}

export interface SyncAnswer {
  error: ClassicGroupError | null;
  assignment: Uint8Array;
}

export class ClassicMember {
  /** What the leader assigned this member in the current generation (empty until SyncGroup). */
  assignment: Uint8Array = new Uint8Array(0);
  /** A JoinGroup waiting for the rebalance to complete. */
  awaitingJoin: ((answer: JoinAnswer) => void) | undefined;
  /** A SyncGroup waiting for the leader's assignment. */
  awaitingSync: ((answer: SyncAnswer) => void) | undefined;

  constructor(
    readonly memberId: string,
    readonly clientId: string,
    readonly clientHost: string,
    public sessionTimeoutMs: number,
    public rebalanceTimeoutMs: number,
    public protocols: readonly GroupProtocol[],
    /** Monotonic ms of the last sign of life (join, sync, heartbeat, commit). */
    public lastSeenMonotonicMs: number,
    /** Wall-clock ms of the same, for status. */
    public lastSeenAtMs: number,
  ) {}

  supports(protocolName: string): boolean {
    return this.protocols.some((protocol) => protocol.name === protocolName);
  }

  metadataFor(protocolName: string): Uint8Array {
    return this.protocols.find((protocol) => protocol.name === protocolName)?.metadata ?? new Uint8Array(0);
  }

  /** A member with a request held open is alive whatever its last heartbeat. */
  get isWaiting(): boolean {
    return this.awaitingJoin !== undefined || this.awaitingSync !== undefined;
  }
}

export class ClassicGroup {
  state: ClassicGroupState = "Empty";
  /** Kafka's protocol type ("consumer" for consumers), fixed while the group has members. */
  protocolType: string | null = null;
  /** The protocol chosen for the current generation (an assignor's name for consumers). */
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;
  readonly members = new Map<string, ClassicMember>();
  /**
   * Member ids handed out with MEMBER_ID_REQUIRED and not yet used to join,
   * with when they were handed out (monotonic ms): the join waits for them, as
   * for members, until they join or their session timeout passes.
   */
  readonly pendingMembers = new Map<string, { sinceMonotonicMs: number; sessionTimeoutMs: number }>();
  /** The rebalance timeout's timer while PreparingRebalance. */
  rebalanceTimer: { cancel(): void } | undefined;

  constructor(readonly groupId: string) {}

  /** Whether a member of another kind may not take this group over: it has members, or ids handed out to join. */
  get isLive(): boolean {
    return this.members.size > 0 || this.pendingMembers.size > 0;
  }

  /** Whether a member with these protocols could join: it shares the protocol type and at least one protocol with every member. */
  accepts(protocolType: string, protocols: readonly GroupProtocol[], ignoring?: string): boolean {
    if (this.members.size === 0 || (this.members.size === 1 && ignoring !== undefined && this.members.has(ignoring))) return true;
    if (protocolType !== this.protocolType) return false;
    const others = [...this.members.values()].filter((m) => m.memberId !== ignoring);
    return protocols.some((protocol) => others.every((m) => m.supports(protocol.name)));
  }
}

/**
 * The protocol of a new generation (Kafka's selection): among the protocols
 * every member supports, each member votes for the first it lists (its most
 * preferred); the most votes wins, a tie going to the one the leader prefers.
 */
export function selectProtocol(members: readonly ClassicMember[], leader: ClassicMember): string {
  const candidates = leader.protocols.map((p) => p.name).filter((name) => members.every((m) => m.supports(name)));
  assert(candidates.length > 0, "no protocol every member supports: a join should have been refused");
  const votes = new Map<string, number>(candidates.map((name) => [name, 0]));
  for (const member of members) {
    const choice = member.protocols.find((p) => votes.has(p.name))!.name;
    votes.set(choice, votes.get(choice)! + 1);
  }
  let best = candidates[0];
  for (const name of candidates) if (votes.get(name)! > votes.get(best)!) best = name;
  return best;
}
