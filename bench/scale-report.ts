/**
 * bench/scale.ts's results as Markdown tables, the S1–S6 targets with the ratios
 * measured, and (with --write) a section appended to bench/RESULTS.md beside bench/scale.svg.
 */
import { appendFile, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import * as path from "node:path";
import { chartSvg, type Panel, type Series } from "./scale-chart.ts";

export interface ProducePoint {
  partitions: number;
  topics: number;
  /** The median of the rounds'. */
  messagesPerSecond: number;
  messagesPerSecondPerRound: number[];
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export interface Footprint {
  rssBytes: number;
  descriptors: number;
}

/** A start point: measured, or refused by the broker's partition cap (`refusedAtLimit`). */
export type StartPoint =
  | { partitions: number; emptyStartMs: number; createMs: number; created: Footprint; restartMs: number; restarted: Footprint }
  | { partitions: number; emptyStartMs: number; refusedAtLimit: number };

export interface MetricsPoint {
  groups: number;
  /** Measured on a broker with --metrics-group-partitions. */
  perPartitionSeries: boolean;
  bytes: number;
  scrapeMs: number;
}

export interface ScaleResults {
  argv: string[];
  startedAt: Date;
  finishedAt: Date;
  produce: ProducePoint[];
  start: StartPoint[];
  metrics: MetricsPoint[];
  write: boolean;
}

const RESULTS_PATH = path.join(import.meta.dir, "RESULTS.md");
const SVG_PATH = path.join(import.meta.dir, "scale.svg");

const count = (value: number) => Math.round(value).toLocaleString("en-US");
const megabytes = (bytes: number) => (bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1);
const milliseconds = (ms: number) => (ms < 100 ? ms.toFixed(1) : count(ms));

function produceTable(points: ProducePoint[]): string {
  const base = points.find((p) => p.partitions === 2);
  const rows = points.map((p) => {
    const ratio = base === undefined ? "–" : `${(p.messagesPerSecond / base.messagesPerSecond).toFixed(2)}×`;
    const perRound = p.messagesPerSecondPerRound.map(count).join(" / ");
    return `| ${count(p.partitions)} | ${p.topics} | ${perRound} | ${count(p.messagesPerSecond)} | ${ratio} | ${milliseconds(p.p50Ms)} | ${milliseconds(p.p99Ms)} | ${p.errors} |`;
  });
  return [
    "| partitions | topics (one `gafka bench produce` each) | msg/s (sum) per round | median msg/s | ÷ 2 partitions | p50 ms | p99 ms | errors |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

function startTable(points: StartPoint[]): string {
  const rows = points.map((p) =>
    "refusedAtLimit" in p
      ? `| ${count(p.partitions)} | refused (409 limit_reached): the broker's partition cap is ${count(p.refusedAtLimit)} (\`--partitions-max\`) | | | | | | |`
      : `| ${count(p.partitions)} | ${milliseconds(p.createMs)} | ${megabytes(p.created.rssBytes)} | ${count(p.created.descriptors)} | ` +
        `${milliseconds(p.restartMs)} | ${megabytes(p.restarted.rssBytes)} | ${count(p.restarted.descriptors)} | ${milliseconds(p.emptyStartMs)} |`,
  );
  return [
    "| empty partitions | create ms | RSS MB after creation | descriptors after creation | clean restart to listening ms | RSS MB after restart | descriptors after restart | empty broker's first start ms |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

const variant = (p: MetricsPoint) => (p.perPartitionSeries ? "`--metrics-group-partitions`" : "default");

function metricsTable(points: MetricsPoint[]): string {
  return [
    "| groups (100 partitions each) | broker | /metrics MB | scrape ms (median) |",
    "|---|---|---|---|",
    ...points.map((p) => `| ${count(p.groups)} | ${variant(p)} | ${megabytes(p.bytes)} | ${milliseconds(p.scrapeMs)} |`),
  ].join("\n");
}

function measured(points: StartPoint[]): Extract<StartPoint, { createMs: number }>[] {
  return points.filter((p): p is Extract<StartPoint, { createMs: number }> => !("refusedAtLimit" in p));
}

/** The targets, with this run's figures where it measured them. */
function targetsTable(results: ScaleResults): string {
  const at = (partitions: number) => results.produce.find((p) => p.partitions === partitions);
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? "not measured" : `${(a / b).toFixed(2)}`);
  const two = at(2);
  const largest = measured(results.start).sort((a, b) => b.partitions - a.partitions)[0];
  const s4 =
    largest === undefined
      ? "not measured"
      : `${count(largest.partitions)} partitions${largest.partitions < 10_000 ? " (10,000 not measured)" : ""}: ${(largest.createMs / 1000).toFixed(1)} s / ` +
        `${(largest.restartMs / 1000).toFixed(1)} s / ${megabytes(largest.restarted.rssBytes)} MB / ${count(largest.restarted.descriptors)}`;
  const thousand = results.metrics.find((p) => p.groups === 1000 && !p.perPartitionSeries);
  const s5 = thousand === undefined ? "not measured" : `${megabytes(thousand.bytes)} MB / ${milliseconds(thousand.scrapeMs)} ms`;
  return [
    "| # | measure | target | measured |",
    "|---|---|---|---|",
    `| S1 | batched produce at 64 partitions ÷ at 2 partitions | ≥ 0.8 | ${ratio(at(64)?.messagesPerSecond, two?.messagesPerSecond)} |`,
    `| S2 | batched produce at 1,000 partitions ÷ at 2 partitions | ≥ 0.6 | ${ratio(at(1000)?.messagesPerSecond, two?.messagesPerSecond)} |`,
    `| S3 | p50 latency at 64 partitions ÷ the 2-partition p50 | ≤ 2 | ${ratio(at(64)?.p50Ms, two?.p50Ms)} |`,
    `| S4 | 10,000 empty partitions: create / restart to serving / RSS / open descriptors | ≤ 10 s / ≤ 2 s / ≤ 300 MB / ≤ 1,100 | ${s4} |`,
    `| S5 | 1,000 groups on a 100-partition topic: default /metrics size / scrape time | ≤ 1 MB / ≤ 100 ms | ${s5} |`,
    "| S6 | P2 and P3 on 2 partitions | no worse than before (alternating pairs) | not measured by bench/scale.ts (a before/after comparison) |",
  ].join("\n");
}

function metricsSeries(points: MetricsPoint[], y: (point: MetricsPoint) => number): Series[] {
  return [false, true].map((perPartitionSeries) => ({
    name: perPartitionSeries ? "--metrics-group-partitions" : "default",
    points: points.filter((p) => p.perPartitionSeries === perPartitionSeries).map((p) => ({ x: p.groups, y: y(p) })),
  }));
}

function panels(results: ScaleResults): Panel[] {
  const started = measured(results.start);
  return [
    {
      title: "Batched produce throughput",
      xLabel: "partitions",
      yLabel: "msg/s",
      series: [{ name: "msg/s", points: results.produce.map((p) => ({ x: p.partitions, y: p.messagesPerSecond })) }],
    },
    {
      title: "Produce latency",
      xLabel: "partitions",
      yLabel: "ms",
      series: [
        { name: "p50", points: results.produce.map((p) => ({ x: p.partitions, y: p.p50Ms })) },
        { name: "p99", points: results.produce.map((p) => ({ x: p.partitions, y: p.p99Ms })) },
      ],
    },
    {
      title: "Broker RSS with empty partitions",
      xLabel: "partitions",
      yLabel: "MB",
      series: [
        { name: "after creation", points: started.map((p) => ({ x: p.partitions, y: p.created.rssBytes / 1e6 })) },
        { name: "after a clean restart", points: started.map((p) => ({ x: p.partitions, y: p.restarted.rssBytes / 1e6 })) },
      ],
    },
    {
      title: "Create and restart times, open descriptors",
      xLabel: "partitions",
      yLabel: "ms / descriptors",
      series: [
        { name: "create ms", points: started.map((p) => ({ x: p.partitions, y: p.createMs })) },
        { name: "restart to listening ms", points: started.map((p) => ({ x: p.partitions, y: p.restartMs })) },
        { name: "descriptors after restart", points: started.map((p) => ({ x: p.partitions, y: p.restarted.descriptors })) },
      ],
    },
    {
      title: "/metrics size",
      xLabel: "groups (100 partitions each)",
      yLabel: "MB",
      series: metricsSeries(results.metrics, (p) => p.bytes / 1e6),
    },
    {
      title: "/metrics scrape time",
      xLabel: "groups (100 partitions each)",
      yLabel: "ms",
      series: metricsSeries(results.metrics, (p) => p.scrapeMs),
    },
  ];
}

function gitCommit(): string {
  const run = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: import.meta.dir });
  return run.stdout.toString().trim() || "unknown";
}

function timeOfDay(date: Date): string {
  return date.toISOString().slice(11, 16);
}

/** Prints the tables; with `write`, appends the section to RESULTS.md and writes the SVG it shows. */
export async function scaleReport(results: ScaleResults): Promise<void> {
  const tables: string[] = [];
  if (results.produce.length > 0) tables.push("### Batched produce against partitions", "", produceTable(results.produce), "");
  if (results.start.length > 0) tables.push("### Empty partitions: creation, restart, footprint", "", startTable(results.start), "");
  if (results.metrics.length > 0) tables.push("### /metrics against groups", "", metricsTable(results.metrics), "");
  tables.push("### Targets", "", targetsTable(results), "");
  const body = tables.join("\n");
  console.log(body);
  if (!results.write) return;

  await writeFile(SVG_PATH, chartSvg("gafka scale curves (fsync always, 1 KiB records)", panels(results)));
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Bun ${Bun.version}`;
  const section = [
    "",
    `## Issue 18: scale curves (${results.startedAt.toISOString().slice(0, 10)}, ${timeOfDay(results.startedAt)}–${timeOfDay(results.finishedAt)})`,
    "",
    `\`bun bench/scale.ts ${results.argv.join(" ")}\` at \`${gitCommit()}\`, broker \`--fsync=always\`, on ${machine};`,
    "client processes and broker share the cores. Past 100 partitions the produce curve runs one",
    "`gafka bench produce` process per topic of 100 at once (each `--producers 4`): msg/s is their",
    "sum, p50 the median of their p50s, p99 the largest p99 (bench/scale.ts says how each curve is measured).",
    "The latency is send to acknowledgement with up to four batches per producer unacknowledged,",
    "whatever the partitions (unless `--max-pending` is given): at saturation p50 is about that",
    "window's drain time, so it follows the throughput.",
    "",
    "![scale curves](scale.svg)",
    "",
    body,
  ].join("\n");
  await appendFile(RESULTS_PATH, section);
  console.error(`appended to ${RESULTS_PATH}; wrote ${SVG_PATH}`);
}
