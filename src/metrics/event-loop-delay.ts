/**
 * The event loop's delay as a cumulative histogram: how late a periodic timer fires. prom-client's
 * `parley_nodejs_eventloop_lag_*` gauges cannot carry it over a window: they are percentiles of
 * the intervals between a 10-ms timer's firings (the period itself included, so an idle loop
 * reads ~10 ms), and every render of /metrics resets them (the metrics port renders every second,
 * so a reading covers at most the last second, whichever window was asked about).
 */
/** Bounds of `parley_event_loop_delay_seconds`, in seconds: 1-ms steps to 5 ms, then coarser. */
export const EVENT_LOOP_DELAY_BUCKETS: readonly number[] = [
  0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25,
  0.5, 1, 2.5,
];

/**
 * Observes, every `periodMs`, how much later than due the previous timer fired (0 when on time).
 * The timer does not keep the process alive. Returns the function that stops it. Never throws.
 */
export function sampleEventLoopDelay(
  histogram: { observe(seconds: number): void },
  periodMs = 10,
  now: () => number = () => performance.now(),
): () => void {
  let due = now() + periodMs;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const t = now();
    histogram.observe(Math.max(0, t - due) / 1000);
    due = t + periodMs;
    timer = setTimeout(tick, periodMs).unref();
  };
  timer = setTimeout(tick, periodMs).unref();
  return () => clearTimeout(timer);
}

/** The sampler as a job the gateway starts and stops with its other periodic work. Never throws. */
export class EventLoopDelayJob {
  private stopSampling: (() => void) | undefined;

  constructor(private readonly histogram: { observe(seconds: number): void }) {}

  start(): void {
    this.stopSampling ??= sampleEventLoopDelay(this.histogram);
  }

  stop(): void {
    this.stopSampling?.();
    this.stopSampling = undefined;
  }
}
