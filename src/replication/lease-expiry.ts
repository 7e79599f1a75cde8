/** At least this much beyond the lease period, for clocks that run at slightly different rates. */
const LEASE_MARGIN_MS_MIN = 1000;
/** And at least this share of the lease period. */
const LEASE_MARGIN_SHARE = 0.1;

/**
 * When a deposed leader's lease has surely run out, as seen by a follower.
 *
 * The leader's lease runs from the send time of a stream message a follower
 * echoed back (docs/operations.md "The leader lease"), so it ends at most one
 * lease period after the leader sent the last message this follower took
 * in — which is before this follower received it. A follower that has
 * received nothing for lease period + margin therefore knows the old leader
 * no longer acts on this follower's account. Since this broker started
 * (`startedMs`) it echoed nothing, so that bounds the wait too after a
 * restart that heard nothing yet.
 */
export function leaseExpiresAtMs(options: { lastLeaderMessageMs: number; startedMs: number; leasePeriodMs: number }): number {
  const marginMs = Math.max(LEASE_MARGIN_MS_MIN, Math.ceil(options.leasePeriodMs * LEASE_MARGIN_SHARE));
  return Math.max(options.lastLeaderMessageMs, options.startedMs) + options.leasePeriodMs + marginMs;
}
