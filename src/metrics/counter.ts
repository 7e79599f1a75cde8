import { formatSampleValue, Metric, type RenderedLabels } from "./metric.ts";

/** One series of a counter: only ever goes up (until the process restarts). */
export class CounterChild {
  value = 0;

  constructor(readonly labels: RenderedLabels) {}

  inc(amount = 1): void {
    // A negative amount is a bug in the caller; checked inline to keep the hot path free of allocations.
    if (!(amount >= 0)) throw new RangeError(`a counter cannot go down (inc by ${amount})`);
    this.value += amount;
  }
}

/** A Prometheus counter; by convention its name ends in `_total`. */
export class Counter extends Metric<CounterChild> {
  readonly type = "counter";

  /** For a counter without labels. */
  inc(amount = 1): void {
    this.labels().inc(amount);
  }

  protected makeChild(labels: RenderedLabels): CounterChild {
    return new CounterChild(labels);
  }

  protected exposeChild(child: CounterChild, lines: string[]): void {
    lines.push(`${this.name}${child.labels.text} ${formatSampleValue(child.value)}`);
  }
}
