import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { median, stealSeconds } from '../proc-stats.ts';

/**
 * A fixed workload timed on this machine, printed at the head of each bench so that figures of
 * different VMs of the kind can be told apart: VMs of one kind have run the same code 2× apart
 * (minor GC 4.2 ms mean per pause on one, 8–11 on another), and Kannel in the same invocation is
 * the only other yardstick. Run it before the bench starts its processes (a quiet machine).
 * An integer loop (CPU), and an allocation loop with a retained ring (the young generation's
 * scavenges: their count and mean pause). Never throws.
 */
export async function machineProbe(): Promise<string> {
  const steal0 = stealSeconds();
  const loops: number[] = [];
  let sink = 0;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    let x = r;
    for (let i = 0; i < 1e8; i++) x = (x + i * 7) | 0;
    sink ^= x;
    loops.push(performance.now() - t);
  }
  // Read, so the loop cannot be dropped as dead code (an int is never 0.5).
  if (sink === 0.5) loops.push(0);
  const pauses: number[] = [];
  const take = (entries: PerformanceEntry[]) => {
    for (const e of entries)
      if (
        (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ===
        constants.NODE_PERFORMANCE_GC_MINOR
      )
        pauses.push(e.duration);
  };
  const obs = new PerformanceObserver((list) => take(list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });
  const ring: Array<{ i: number; s: string }> = new Array(100_000);
  const t = performance.now();
  for (let i = 0; i < 3_000_000; i++) ring[i % ring.length] = { i, s: `x${i}` };
  const allocMs = performance.now() - t;
  // GC entries are delivered after the loop yields.
  await new Promise<void>((r) => setImmediate(r));
  await new Promise<void>((r) => setImmediate(r));
  take(obs.takeRecords());
  obs.disconnect();
  const mean = pauses.length > 0 ? pauses.reduce((a, b) => a + b, 0) / pauses.length : Number.NaN;
  return (
    `machine probe: integer loop ${median(loops).toFixed(0)} ms (10^8, median of 3), allocation loop ` +
    `${allocMs.toFixed(0)} ms with ${pauses.length} scavenges of ${mean.toFixed(2)} ms mean; ` +
    // A VM whose host is busy runs these loops slower by what it loses to steal.
    `steal ${((stealSeconds() - steal0) * 1000).toFixed(0)} ms during the probe`
  );
}
