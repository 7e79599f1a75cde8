import { formatSampleValue, Metric, type RenderedLabels } from "./metric.ts";

/** One series of a gauge: a value that goes up and down. */
export class GaugeChild {
  value = 0;

  constructor(readonly labels: RenderedLabels) {}

  set(value: number): void {
    this.value = value;
  }

  inc(amount = 1): void {
    this.value += amount;
  }

  dec(amount = 1): void {
    this.value -= amount;
  }
}

/**
 * A Prometheus gauge. Gauges read from the broker's state at scrape time
 * are `reset()` and set again by a collector (MetricsRegistry.onCollect),
 * so that a deleted topic's series disappear with it.
 */
export class Gauge extends Metric<GaugeChild> {
  readonly type = "gauge";

  /** For a gauge without labels. */
  set(value: number): void {
    this.labels().set(value);
  }

  protected makeChild(labels: RenderedLabels): GaugeChild {
    return new GaugeChild(labels);
  }

  protected exposeChild(child: GaugeChild, lines: string[]): void {
    lines.push(`${this.name}${child.labels.text} ${formatSampleValue(child.value)}`);
  }
}
