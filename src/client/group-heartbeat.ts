import { GafkaClientError } from "./client-error.ts";
import { type GroupMembership, isMembershipLost } from "./group-membership.ts";
import type { HttpClient } from "./http-client.ts";
import type { WireMembership } from "./wire.ts";

/**
 * A group member's background heartbeat, by default at a third of the
 * session timeout, one at a time. A lost session makes the next poll join
 * again; any other failure is tried on the next tick.
 */
export class GroupHeartbeat {
  private timer: ReturnType<typeof setInterval> | undefined;
  private timerMs = 0;
  private inFlight = false;

  constructor(
    private readonly http: HttpClient,
    /** The member's path, `/api/v1/consumer-groups/{group}/members/{member}`. */
    private readonly memberPath: string,
    private readonly membership: GroupMembership,
    /** Aborted when the consumer closes. */
    private readonly closing: AbortSignal,
    /** Default: a third of the session timeout. */
    private readonly intervalMs: number | undefined,
  ) {}

  start(sessionTimeoutMs: number): void {
    const intervalMs = this.intervalMs ?? Math.max(1, Math.floor(sessionTimeoutMs / 3));
    if (this.timer !== undefined && this.timerMs === intervalMs) return;
    this.stop();
    this.timerMs = intervalMs;
    this.timer = setInterval(() => void this.beat(), intervalMs);
    // The heartbeat alone does not keep a process alive: a poll or the caller's work does.
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async beat(): Promise<void> {
    if (this.inFlight || this.membership.current === undefined || this.closing.aborted) return;
    this.inFlight = true;
    try {
      const answer = await this.http.request<WireMembership>("POST", `${this.memberPath}/heartbeat`, {
        idempotent: true,
        signal: this.closing,
      });
      this.membership.adoptHeartbeat(answer);
    } catch (error) {
      // The session ran out: the next poll joins again. Anything else is tried on the next tick.
      if (error instanceof GafkaClientError && isMembershipLost(error) && !this.closing.aborted) this.membership.forget(false);
    } finally {
      this.inFlight = false;
    }
  }
}
