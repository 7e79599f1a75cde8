import type { Clock } from "../core/clock.ts";
import type { Counter, CounterChild } from "./counter.ts";
import type { HistogramChild } from "./histogram.ts";

/**
 * The request counter and duration histogram of one route, resolved when
 * the server starts, so that answering a request costs a clock read, one
 * small map lookup (by status) and two increments — no strings, no objects.
 */
export class RouteInstrument {
  private readonly counterByStatus = new Map<number, CounterChild>();

  constructor(
    private readonly requests: Counter,
    private readonly duration: HistogramChild,
    private readonly route: string,
    private readonly method: string,
    private readonly clock: Clock,
  ) {}

  /** Counts one answer with `status`, begun at `startedMs` (the clock's monotonicMs()). */
  answered(status: number, startedMs: number): void {
    let counter = this.counterByStatus.get(status);
    if (counter === undefined) {
      counter = this.requests.labels(this.route, this.method, String(status));
      this.counterByStatus.set(status, counter);
    }
    counter.inc();
    this.duration.observe((this.clock.monotonicMs() - startedMs) / 1000);
  }
}
