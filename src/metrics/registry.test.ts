import { describe, expect, test } from "bun:test";
import { escapeLabelValue, formatSampleValue } from "./metric.ts";
import { EXPOSITION_CONTENT_TYPE, MetricsRegistry } from "./registry.ts";

describe("MetricsRegistry", () => {
  test("exposes counters, gauges and histograms in the text format 0.0.4", () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter({ name: "demo_requests_total", help: "Requests answered.", labelNames: ["route", "status"] });
    const waiting = registry.gauge({ name: "demo_waiting", help: "Waiting now." });
    const duration = registry.histogram({ name: "demo_duration_seconds", help: "Time taken.", labelNames: ["route"], buckets: [0.1, 1] });
    requests.labels("/a", "200").inc();
    requests.labels("/a", "200").inc(2);
    requests.labels("/b", "404").inc();
    waiting.set(3);
    const child = duration.labels("/a");
    child.observe(0.05);
    child.observe(0.1); // on a bound: counted in that bucket (le is "less than or equal")
    child.observe(0.5);
    child.observe(7);

    expect(registry.expose()).toBe(
      [
        "# HELP demo_requests_total Requests answered.",
        "# TYPE demo_requests_total counter",
        'demo_requests_total{route="/a",status="200"} 3',
        'demo_requests_total{route="/b",status="404"} 1',
        "# HELP demo_waiting Waiting now.",
        "# TYPE demo_waiting gauge",
        "demo_waiting 3",
        "# HELP demo_duration_seconds Time taken.",
        "# TYPE demo_duration_seconds histogram",
        'demo_duration_seconds_bucket{route="/a",le="0.1"} 2',
        'demo_duration_seconds_bucket{route="/a",le="1"} 3',
        'demo_duration_seconds_bucket{route="/a",le="+Inf"} 4',
        'demo_duration_seconds_sum{route="/a"} 7.65',
        'demo_duration_seconds_count{route="/a"} 4',
        "",
      ].join("\n"),
    );
    expect(EXPOSITION_CONTENT_TYPE).toStartWith("text/plain; version=0.0.4");
  });

  test("a histogram without labels has only le on its buckets", () => {
    const registry = new MetricsRegistry();
    registry.histogram({ name: "plain_seconds", help: "h", buckets: [1] }).observe(2);
    expect(registry.expose()).toContain('plain_seconds_bucket{le="1"} 0\nplain_seconds_bucket{le="+Inf"} 1\nplain_seconds_sum 2\nplain_seconds_count 1');
  });

  test("label values and help text are escaped", () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: "odd_total", help: 'back\\slash and\nnewline, "quotes" kept', labelNames: ["v"] }).labels('a"b\\c\nd').inc();
    const text = registry.expose();
    expect(text).toContain('# HELP odd_total back\\\\slash and\\nnewline, "quotes" kept\n');
    expect(text).toContain('odd_total{v="a\\"b\\\\c\\nd"} 1\n');
    expect(escapeLabelValue("plain")).toBe("plain");
  });

  test("collectors run at every exposition, and reset gauges lose their old series", () => {
    const registry = new MetricsRegistry();
    const size = registry.gauge({ name: "log_size_bytes", help: "Size.", labelNames: ["topic"] });
    let topics: Record<string, number> = { a: 10, b: 20 };
    registry.onCollect(() => {
      size.reset();
      for (const [topic, bytes] of Object.entries(topics)) size.labels(topic).set(bytes);
    });
    expect(registry.expose()).toContain('log_size_bytes{topic="a"} 10\nlog_size_bytes{topic="b"} 20\n');
    topics = { b: 25 };
    const text = registry.expose();
    expect(text).not.toContain('topic="a"');
    expect(text).toContain('log_size_bytes{topic="b"} 25\n');
  });

  test("a metric with no series still has its HELP and TYPE lines", () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: "idle_total", help: "Nothing yet.", labelNames: ["topic"] });
    expect(registry.expose()).toBe("# HELP idle_total Nothing yet.\n# TYPE idle_total counter\n");
  });

  test("a kept child is the same series as a looked-up one", () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter({ name: "kept_total", help: "h", labelNames: ["k"] });
    const kept = counter.labels("x");
    kept.inc(5);
    expect(counter.labels("x")).toBe(kept);
    counter.remove("x");
    expect(registry.expose()).not.toContain("kept_total{");
  });

  test("special values are written as Prometheus reads them", () => {
    expect(formatSampleValue(Number.POSITIVE_INFINITY)).toBe("+Inf");
    expect(formatSampleValue(Number.NEGATIVE_INFINITY)).toBe("-Inf");
    expect(formatSampleValue(Number.NaN)).toBe("NaN");
    expect(formatSampleValue(0.25)).toBe("0.25");
    expect(formatSampleValue(12)).toBe("12");
  });

  test("misuse is a bug: bad names, wrong label counts, duplicate names, a counter going down", () => {
    const registry = new MetricsRegistry();
    expect(() => registry.counter({ name: "bad-name", help: "h" })).toThrow(/metric name/);
    expect(() => registry.counter({ name: "ok_total", help: "h", labelNames: ["__reserved"] })).toThrow(/label name/);
    expect(() => registry.histogram({ name: "h_seconds", help: "h", labelNames: ["le"], buckets: [1] })).toThrow(/le/);
    expect(() => registry.histogram({ name: "h2_seconds", help: "h", buckets: [1, 1] })).toThrow(/increase/);
    const counter = registry.counter({ name: "once_total", help: "h", labelNames: ["a"] });
    expect(() => registry.counter({ name: "once_total", help: "h" })).toThrow(/twice/);
    expect(() => counter.labels()).toThrow(/label values/);
    expect(() => counter.labels("x").inc(-1)).toThrow(/cannot go down/);
  });
});
