import type { MetricsRegistry } from "./registry.ts";

/**
 * The process's memory and CPU, read at scrape time: the standard
 * `process_*` names every Prometheus client uses, and the JavaScript heap
 * under `bun_*` (the runtime's own prefix, as Go's client uses `go_*`).
 */
export function watchProcess(registry: MetricsRegistry): void {
  const resident = registry.gauge({ name: "process_resident_memory_bytes", help: "Resident memory size in bytes." });
  const cpu = registry.counter({ name: "process_cpu_seconds_total", help: "User and system CPU time spent in seconds." });
  const started = registry.gauge({ name: "process_start_time_seconds", help: "Start time of the process since the Unix epoch in seconds." });
  const heapUsed = registry.gauge({ name: "bun_heap_used_bytes", help: "JavaScript heap in use, in bytes." });
  const heapTotal = registry.gauge({ name: "bun_heap_total_bytes", help: "JavaScript heap reserved, in bytes." });
  const external = registry.gauge({ name: "bun_external_memory_bytes", help: "Memory held outside the JavaScript heap by its objects (buffers), in bytes." });
  started.set(Math.round(Date.now() / 1000 - process.uptime()));
  const cpuChild = cpu.labels();
  registry.onCollect(() => {
    const memory = process.memoryUsage();
    resident.set(memory.rss);
    heapUsed.set(memory.heapUsed);
    heapTotal.set(memory.heapTotal);
    external.set(memory.external);
    const usage = process.cpuUsage();
    // The OS keeps this counter; the series takes its reading rather than counting itself.
    cpuChild.value = (usage.user + usage.system) / 1e6;
  });
}
