/**
 * Message values the benchmarks send: ASCII only, so a value's length in
 * characters is its size in bytes, in JSON and on disk alike.
 *
 * End-to-end values carry their send time:
 *   <run id>|<send time: ms since the epoch, 3 decimals>|xxxx…
 * padded with `x` to the message size. The run id keeps records of earlier
 * runs (or other producers) out of the figures.
 */
const FILLER = "x";
const SEPARATOR = "|";

export function fillerValue(messageBytes: number): string {
  return FILLER.repeat(messageBytes);
}

/** Milliseconds since the epoch, to the microsecond: the clock both ends of an end-to-end run share. */
export function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}

export class StampedValues {
  private readonly prefix: string;
  private readonly filler: string;

  constructor(
    readonly runId: string,
    messageBytes: number,
  ) {
    this.prefix = runId + SEPARATOR;
    this.filler = fillerValue(messageBytes);
  }

  /** Smallest message that holds a stamp. */
  static minimumBytes(runId: string): number {
    return runId.length + 2 + epochNowMs().toFixed(3).length;
  }

  /** A value stamped with the time now. */
  next(): string {
    const head = `${this.prefix}${epochNowMs().toFixed(3)}${SEPARATOR}`;
    return head + this.filler.slice(head.length);
  }

  /** The send time a value of this run carries; undefined for any other value. */
  sentAtMs(value: string | null): number | undefined {
    if (value === null || !value.startsWith(this.prefix)) return undefined;
    const end = value.indexOf(SEPARATOR, this.prefix.length);
    if (end === -1) return undefined;
    const sentAtMs = Number(value.slice(this.prefix.length, end));
    return Number.isFinite(sentAtMs) ? sentAtMs : undefined;
  }
}

/** A short random id for a run: its group name and its stamps. */
export function newRunId(): string {
  return crypto.randomUUID().slice(0, 8);
}
