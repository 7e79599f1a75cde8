import { assert } from "../core/assert.ts";
import { Counter } from "./counter.ts";
import { Gauge } from "./gauge.ts";
import { Histogram, type HistogramOptions } from "./histogram.ts";
import type { Metric, MetricOptions } from "./metric.ts";

/** The Content-Type of `expose()`'s text. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * A small Prometheus registry: counters, gauges and histograms with labels,
 * exposed in the text format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). Values
 * that already live elsewhere (log end offsets, group lag, memory) are not
 * mirrored on every change: a collector reads them when a scrape asks.
 */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric<unknown>>();
  private readonly collectors: (() => void)[] = [];

  counter(options: MetricOptions): Counter {
    return this.register(new Counter(options));
  }

  gauge(options: MetricOptions): Gauge {
    return this.register(new Gauge(options));
  }

  histogram(options: HistogramOptions): Histogram {
    return this.register(new Histogram(options));
  }

  /** Runs `collector` at the start of every exposition, to set gauges from state read at scrape time. */
  onCollect(collector: () => void): void {
    this.collectors.push(collector);
  }

  /** Every metric in the text format, in registration order, ending with a line feed. */
  expose(): string {
    for (const collector of this.collectors) collector();
    const lines: string[] = [];
    for (const metric of this.metrics.values()) metric.expose(lines);
    lines.push("");
    return lines.join("\n");
  }

  private register<M extends Metric<unknown>>(metric: M): M {
    assert(!this.metrics.has(metric.name), `metric ${metric.name} is registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }
}
