import { assert } from "../core/assert.ts";

/**
 * What counters, gauges and histograms share: a name, a help text, label
 * names, and one child per combination of label values. A child's label set
 * is rendered once, when the child is made, so an exposition only joins
 * strings and a hot path that keeps its child pays no lookup at all.
 */
export type MetricType = "counter" | "gauge" | "histogram";

export interface MetricOptions {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`; by convention `<namespace>_<what>_<unit>` and `_total` for counters. */
  name: string;
  help: string;
  labelNames?: readonly string[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Joins label values into a map key; no label value is expected to hold it. */
const KEY_SEPARATOR = "\u0000";

export abstract class Metric<Child> {
  abstract readonly type: MetricType;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  private readonly children = new Map<string, Child>();

  constructor(options: MetricOptions) {
    assert(METRIC_NAME.test(options.name), `metric name '${options.name}'`);
    const labelNames = options.labelNames ?? [];
    for (const label of labelNames) {
      assert(LABEL_NAME.test(label) && !label.startsWith("__"), `label name '${label}' of ${options.name}`);
    }
    assert(new Set(labelNames).size === labelNames.length, `repeated label name in ${options.name}`);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = labelNames;
  }

  /** The child for these label values (in `labelNames` order), made on first use. Keep it to skip the lookup. */
  labels(...values: string[]): Child {
    assert(values.length === this.labelNames.length, `${this.name} takes ${this.labelNames.length} label values, got ${values.length}`);
    const key = values.length === 1 ? values[0]! : values.join(KEY_SEPARATOR);
    let child = this.children.get(key);
    if (child === undefined) {
      child = this.makeChild(renderLabels(this.labelNames, values));
      this.children.set(key, child);
    }
    return child;
  }

  /** Forgets one child (a deleted topic's series). */
  remove(...values: string[]): void {
    this.children.delete(values.length === 1 ? values[0]! : values.join(KEY_SEPARATOR));
  }

  /** Forgets every child: scrape-time gauges start each collection empty. */
  reset(): void {
    this.children.clear();
  }

  /** Appends `# HELP`, `# TYPE` and one sample line per child (more for a histogram) to `lines`. */
  expose(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    for (const child of this.children.values()) this.exposeChild(child, lines);
  }

  protected abstract makeChild(labels: RenderedLabels): Child;
  protected abstract exposeChild(child: Child, lines: string[]): void;
}

/** A label set as it appears in the exposition: `{a="x",b="y"}`, or "" for none; `pairs` without the braces. */
export interface RenderedLabels {
  readonly text: string;
  readonly pairs: string;
}

export function renderLabels(names: readonly string[], values: readonly string[]): RenderedLabels {
  if (names.length === 0) return { text: "", pairs: "" };
  const pairs = names.map((name, index) => `${name}="${escapeLabelValue(values[index]!)}"`).join(",");
  return { text: `{${pairs}}`, pairs };
}

/** Text format 0.0.4: in a label value, backslash, double quote and line feed are escaped. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : value;
}

/** Text format 0.0.4: in a HELP line, backslash and line feed are escaped (quotes are not). */
export function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value as Prometheus parses it: `+Inf`, `-Inf`, `NaN`, or the number. */
export function formatSampleValue(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  return String(value);
}
