import type { LogSegments } from "./log-segments.ts";

/**
 * Kafka's size rule for delete retention (src/storage/retention-policy.ts:
 * the oldest sealed segment goes while the partition would still hold at
 * least retention.bytes without it), checked as the partition grows rather
 * than only at a pass: after every append the log asks grew(), which costs
 * two comparisons, and once the partition holds retention.bytes without its
 * oldest segment it asks for a pass (`due`, the retention task's applyNow, within the append),
 * once until the next pass arms it again. So a partition stays under
 * retention.bytes plus its oldest segment (under retention.bytes plus one
 * segment) at every moment, less the bytes appended in the turn before the
 * pass runs, instead of only right after a roll, when the active segment
 * then grew by a whole segment on top.
 *
 * The limit is the topic's retention.bytes, given by the broker when the
 * topic's configuration is set or changes and by every pass (-1: no limit,
 * or a cleanup.policy without `delete`). Only a leader's passes arm it: a
 * follower's check asks at most once, and its log start follows its leader's.
 */
export class RetentionCheck {
  private limitBytes = -1;
  private armed = false;

  constructor(
    private readonly segments: LogSegments,
    private readonly due: (() => void) | undefined,
  ) {}

  /** Sets the partition's retention.bytes (-1: none) and arms the check. */
  arm(limitBytes: number): void {
    this.limitBytes = limitBytes;
    this.armed = limitBytes >= 0 && this.due !== undefined;
  }

  /** After an append (the segments' totalBytes already counts it): asks for a pass when the oldest sealed segment is past the rule. */
  grew(): void {
    if (!this.armed || this.segments.length < 2) return;
    if (this.segments.totalBytes - this.segments.at(0)!.sizeBytes < this.limitBytes) return;
    this.armed = false;
    this.due!();
  }
}
