/**
 * How loaded the main thread is, as two cumulative counters read at each render: the seconds its
 * event loop was busy (rate() is the utilization, 0–1) and, on Linux, the seconds it waited
 * runnable for a CPU. The benches found the accept latency's tail there: at 2,000/s with the
 * carrier up on a slow 2-vCPU VM the loop was busy ~90 % of the time and waited ~0.25 s a second
 * for a CPU that PostgreSQL held; the delay histogram shows the symptom, these the cause (one
 * thread at its limit: scale out; a machine short of CPU: give it more).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Counter, type Registry } from 'prom-client';

/** Seconds the event loop has been busy since it started (perf_hooks' utilization, active part). */
export const eventLoopBusySeconds = (): number => performance.eventLoopUtilization().active / 1000;

/**
 * Seconds the main thread (its id is the process id) has waited runnable for a CPU, from the
 * second field of Linux's schedstat (nanoseconds); undefined where that file cannot be read or
 * parsed (not Linux, schedstat off). Never throws.
 */
export function mainThreadCpuWaitSeconds(
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): number | undefined {
  try {
    const ns = Number(read(`/proc/self/task/${process.pid}/schedstat`).trim().split(/\s+/)[1]);
    return Number.isFinite(ns) && ns >= 0 ? ns / 1e9 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A counter that follows a cumulative reading: each render adds what the reading grew since the
 * last one (a reading that is undefined or went back adds nothing). Never throws.
 */
export function cumulativeCounter(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | undefined,
): Counter {
  let last = read() ?? 0;
  const counter: Counter = new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const v = read();
      if (v === undefined || !(v > last)) return;
      counter.inc(v - last);
      last = v;
    },
  });
  if (last > 0) counter.inc(last);
  return counter;
}

/**
 * Registers `parley_event_loop_busy_seconds_total` and, where the main thread's schedstat can be
 * read, `parley_event_loop_cpu_wait_seconds_total`. Never throws.
 */
export function registerEventLoopLoad(
  registry: Registry,
  readWait: () => number | undefined = mainThreadCpuWaitSeconds,
): void {
  cumulativeCounter(
    registry,
    'parley_event_loop_busy_seconds_total',
    'Seconds the main thread’s event loop was busy; rate() is its utilization (near 1: this instance is at its limit)',
    eventLoopBusySeconds,
  );
  if (readWait() !== undefined)
    cumulativeCounter(
      registry,
      'parley_event_loop_cpu_wait_seconds_total',
      'Seconds the main thread waited runnable for a CPU (Linux schedstat); rate() near or above 0.1: the machine is short of CPU',
      readWait,
    );
}
