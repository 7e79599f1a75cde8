import type { Broker } from "../broker/broker.ts";
import { assert } from "../core/assert.ts";
import { type Clock, systemClock } from "../core/clock.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";
import type { Counter } from "./counter.ts";
import { CleanerMetrics } from "./cleaner-metrics.ts";
import { FsyncMetrics } from "./fsync-metrics.ts";
import { watchGroups } from "./group-gauges.ts";
import type { Histogram } from "./histogram.ts";
import { KafkaDoorMetrics } from "./kafka-door-metrics.ts";
import { watchLogs } from "./log-gauges.ts";
import { watchProcess } from "./process-gauges.ts";
import { MetricsRegistry } from "./registry.ts";
import { watchReplication, type ReplicationStatusSource } from "./replication-gauges.ts";
import { type RetentionSource, watchRetention } from "./retention-counters.ts";
import { RouteInstrument } from "./route-instrument.ts";
import { TopicTraffic } from "./topic-traffic.ts";

/**
 * Request durations: from 100 µs (a produce under `--fsync never`) to the
 * longest long poll (30 s).
 */
const REQUEST_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const UNMATCHED_ROUTE = "unmatched";
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

/**
 * Every series one broker exposes on GET /metrics (docs/api.md "Metrics").
 * Request counters are bumped by the HTTP layer, traffic counters by the
 * broker's hooks (wired where the process is put together); everything the
 * broker already knows (offsets, sizes, group lag, memory) is read when a
 * scrape asks. One BrokerMetrics serves one broker.
 */
export class BrokerMetrics {
  readonly registry: MetricsRegistry;
  /** Records and key+value bytes acknowledged to producers, per topic. */
  readonly produced: TopicTraffic;
  /** Records and key+value bytes handed to consumers, per topic. */
  readonly consumed: TopicTraffic;
  /** The log's fdatasyncs; `fsyncs.observe` is the broker's BrokerConfig.onFsync. */
  readonly fsyncs: FsyncMetrics;
  /** The log cleaner's passes (`cleaner.observePass` is its onPass) and, once watched, each compacted partition's dirty ratio and lag. */
  readonly cleaner: CleanerMetrics;
  /** The Kafka door's requests, bytes and connections (src/kafka reports into it). */
  readonly kafka: KafkaDoorMetrics;
  private readonly httpRequests: Counter;
  private readonly httpDuration: Histogram;
  private readonly unmatchedByMethod = new Map<string, RouteInstrument>();
  private watching = false;

  /**
   * `clock` times the HTTP requests (src/http/server.ts reads it when a
   * request arrives); `groupPartitionSeries` adds each group's committed
   * offset and lag per partition (src/metrics/group-gauges.ts).
   */
  constructor(
    registry = new MetricsRegistry(),
    readonly clock: Clock = systemClock,
    private readonly options: { groupPartitionSeries: boolean } = { groupPartitionSeries: false },
  ) {
    this.registry = registry;
    this.httpRequests = registry.counter({
      name: "gafka_http_requests_total",
      help: "HTTP requests answered, by route (the path template), method and status.",
      labelNames: ["route", "method", "status"],
    });
    this.httpDuration = registry.histogram({
      name: "gafka_http_request_duration_seconds",
      help: "Time from a request reaching its route to its answer (a long poll's wait included), by route and method.",
      labelNames: ["route", "method"],
      buckets: REQUEST_SECONDS_BUCKETS,
    });
    const topicLabels = ["topic"];
    this.produced = new TopicTraffic(
      registry.counter({ name: "gafka_records_produced_total", help: "Records acknowledged to producers.", labelNames: topicLabels }),
      registry.counter({
        name: "gafka_bytes_produced_total",
        help: "Key and value bytes of the records acknowledged to producers.",
        labelNames: topicLabels,
      }),
    );
    this.consumed = new TopicTraffic(
      registry.counter({ name: "gafka_records_consumed_total", help: "Records handed to consumers.", labelNames: topicLabels }),
      registry.counter({
        name: "gafka_bytes_consumed_total",
        help: "Key and value bytes of the records handed to consumers.",
        labelNames: topicLabels,
      }),
    );
    this.fsyncs = new FsyncMetrics(registry);
    this.cleaner = new CleanerMetrics(registry);
    this.kafka = new KafkaDoorMetrics(registry, clock);
    watchProcess(registry);
  }

  /** The instrument of one route (`path` as the route table writes it); call once per route, at start. */
  route(method: string, path: string): RouteInstrument {
    return new RouteInstrument(this.httpRequests, this.httpDuration.labels(path, method), path, method, this.clock);
  }

  /**
   * The instrument of requests no route took (404, 405), labelled
   * `route="unmatched"`; methods outside HTTP's usual ones count as `other`,
   * so a client cannot grow the label set.
   */
  unmatched(method: string): RouteInstrument {
    const known = KNOWN_METHODS.has(method) ? method : "other";
    let instrument = this.unmatchedByMethod.get(known);
    if (instrument === undefined) {
      instrument = this.route(known, UNMATCHED_ROUTE);
      this.unmatchedByMethod.set(known, instrument);
    }
    return instrument;
  }

  /** Adds the gauges read from the broker, its groups and its replication (when it has any) at scrape time. */
  watch(sources: { broker: Broker; groups: GroupCoordinator; replication?: ReplicationStatusSource }): void {
    assert(!this.watching, "a BrokerMetrics watches one broker");
    this.watching = true;
    watchLogs(this.registry, sources.broker);
    watchGroups(this.registry, sources.groups, this.options);
    if (sources.replication !== undefined) watchReplication(this.registry, sources.replication);
  }

  /** Adds the counters of delete retention (src/broker/retention-task.ts), read at scrape time. */
  watchRetention(source: RetentionSource): void {
    watchRetention(this.registry, source);
  }

  /** The text exposition (format 0.0.4). */
  expose(): string {
    return this.registry.expose();
  }
}
