/**
 * The event loop's delay as a cumulative histogram: how late a periodic timer fires. prom-client's
 * `parley_nodejs_eventloop_lag_*` gauges cannot carry it over a window: they are percentiles of
 * the intervals between a 10-ms timer's firings (the period itself included, so an idle loop
 * reads ~10 ms), and every render of /metrics resets them (the metrics port renders every second,
 * so a reading covers at most the last second, whichever window was asked about).
 */
import { Periodic } from './periodic.ts';

/** Bounds of `parley_event_loop_delay_seconds`, in seconds: 1-ms steps to 5 ms, then coarser. */
export const EVENT_LOOP_DELAY_BUCKETS: readonly number[] = [
  0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25,
  0.5, 1, 2.5,
];

/**
 * Observes, every `periodMs`, how much later than due the timer fired (0 when on time); a job the
 * gateway starts and stops with its other periodic work. A second `start` does nothing. Never throws.
 */
export class EventLoopDelayJob {
  private readonly loop: Periodic;
  private due = 0;
  private started = false;

  constructor(
    histogram: { observe(seconds: number): void },
    private readonly periodMs = 10,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.loop = new Periodic(async () => {
      const t = this.now();
      histogram.observe(Math.max(0, t - this.due) / 1000);
      // Periodic schedules the next run as this one ends, i.e. now.
      this.due = t + periodMs;
    }, periodMs);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.due = this.now() + this.periodMs;
    this.loop.start();
  }

  /** Resolves once no run is in progress. */
  stop(): Promise<void> {
    this.started = false;
    return this.loop.stop();
  }
}

/** The job, started; returns the function that stops it (the benches' load generator). */
export function sampleEventLoopDelay(
  histogram: { observe(seconds: number): void },
  periodMs = 10,
  now?: () => number,
): () => void {
  const job = new EventLoopDelayJob(histogram, periodMs, now);
  job.start();
  return () => void job.stop();
}
