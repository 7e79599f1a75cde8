import { assert } from "../core/assert.ts";
import { formatSampleValue, Metric, type MetricOptions, type RenderedLabels } from "./metric.ts";

export interface HistogramOptions extends MetricOptions {
  /** Upper bounds of the buckets, increasing; `+Inf` is implied. */
  buckets: readonly number[];
}

/**
 * One series of a histogram. Counts are kept per bucket (not cumulative) so
 * that observe() touches one slot; the exposition accumulates them.
 */
export class HistogramChild {
  readonly bucketCounts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: RenderedLabels,
    private readonly bounds: readonly number[],
  ) {
    this.bucketCounts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let index = 0;
    while (index < bounds.length && value > bounds[index]!) index++;
    this.bucketCounts[index]!++;
    this.sum += value;
    this.count++;
  }
}

/** A Prometheus histogram: `_bucket{le=…}` (cumulative), `_sum` and `_count` per series. */
export class Histogram extends Metric<HistogramChild> {
  readonly type = "histogram";
  readonly buckets: readonly number[];
  private readonly bucketLabels: string[];

  constructor(options: HistogramOptions) {
    super(options);
    assert(!this.labelNames.includes("le"), `histogram ${options.name} may not use the label 'le'`);
    assert(options.buckets.length > 0, `histogram ${options.name} needs buckets`);
    for (let index = 1; index < options.buckets.length; index++) {
      assert(options.buckets[index]! > options.buckets[index - 1]!, `buckets of ${options.name} must increase`);
    }
    this.buckets = options.buckets.filter((bound) => bound !== Number.POSITIVE_INFINITY);
    this.bucketLabels = [...this.buckets.map(formatSampleValue), "+Inf"].map((bound) => `le="${bound}"`);
  }

  /** For a histogram without labels. */
  observe(value: number): void {
    this.labels().observe(value);
  }

  protected makeChild(labels: RenderedLabels): HistogramChild {
    return new HistogramChild(labels, this.buckets);
  }

  protected exposeChild(child: HistogramChild, lines: string[]): void {
    const prefix = child.labels.pairs === "" ? "{" : `{${child.labels.pairs},`;
    let cumulative = 0;
    for (let index = 0; index < this.bucketLabels.length; index++) {
      cumulative += child.bucketCounts[index]!;
      lines.push(`${this.name}_bucket${prefix}${this.bucketLabels[index]}} ${formatSampleValue(cumulative)}`);
    }
    lines.push(`${this.name}_sum${child.labels.text} ${formatSampleValue(child.sum)}`);
    lines.push(`${this.name}_count${child.labels.text} ${formatSampleValue(child.count)}`);
  }
}
