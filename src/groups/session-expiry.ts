import type { Clock, Timer } from "../core/clock.ts";
import type { Membership } from "./membership.ts";

/**
 * Removes members that missed their session timeout, looked for every
 * `sweepIntervalMs` on the injected clock. A member blocked in a long poll
 * is alive whatever its last sign of life.
 */
export class SessionExpiry {
  private readonly timer: Timer;

  constructor(
    private readonly membership: Membership,
    private readonly clock: Clock,
    sweepIntervalMs: number,
  ) {
    this.timer = clock.setInterval(() => this.expireSessions(), sweepIntervalMs);
  }

  cancel(): void {
    this.timer.cancel();
  }

  private expireSessions(): void {
    const now = this.clock.monotonicMs();
    for (const group of this.membership.groups.values()) {
      for (const member of [...group.members.values()]) {
        if (member.pollsInFlight === 0 && now - member.lastSeenMonotonicMs > member.sessionTimeoutMs) {
          this.membership.removeMember(group, member, `missed its session timeout of ${member.sessionTimeoutMs} ms`);
        }
      }
    }
  }
}
