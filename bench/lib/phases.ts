/** The measured phases of a bench run: batch load, drain to final statuses, single POSTs at a fixed rate. */
import { appendFileSync } from 'node:fs';
import { sampleEventLoopDelay } from '../../src/metrics/event-loop-delay.ts';
import { percentile, stealSeconds } from '../proc-stats.ts';
import type { GatewayProc } from './cluster.ts';

/** Messages through the batch API, `batch` per request, `concurrency` requests at a time. */
export async function batchLoad(
  gw: GatewayProc,
  key: string,
  n: number,
  batch: number,
  concurrency: number,
  tag: string,
  /** Distinct recipients, cycled (4,000,000: every recipient of a run is new). */
  recipients = 4_000_000,
): Promise<{ accepted: number; ms: number; latencies: number[] }> {
  const t0 = performance.now();
  const latencies: number[] = [];
  let next = 0;
  let accepted = 0;
  const batches = Math.ceil(n / batch);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches) {
        const b = next++;
        const size = Math.min(batch, n - b * batch);
        const messages = Array.from({ length: size }, (_, i) => ({
          to: `+1415${String(5_000_000 + ((b * batch + i) % Math.min(recipients, 4_000_000))).padStart(7, '0')}`,
          body: `Parley ${tag} message ${b * batch + i}`,
        }));
        const s = performance.now();
        const r = await gw.call('/v1/messages/batch', { messages }, key);
        latencies.push(performance.now() - s);
        accepted += r.accepted ?? 0;
      }
    }),
  );
  return { accepted, ms: performance.now() - t0, latencies: latencies.sort((a, b) => a - b) };
}

/** The sum of every series of `name` whose labels contain `label`, in a scraped exposition text. */
export function metricSum(text: string, name: string, label = ''): number {
  let sum = 0;
  for (const line of text.split('\n'))
    if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(label))
      sum += Number(line.split(' ').pop());
  return sum;
}

const FINAL = new Set(['delivered', 'undelivered', 'failed', 'expired', 'rejected', 'unknown']);
const STATUS_LABEL = /status="([^"]*)"/;

/**
 * Final statuses (delivered, failed, expired, ...) in a scraped exposition text, in one pass over
 * its lines (the bench shares the gateway's two cores: a pass per status was six).
 */
export function finalIn(text: string): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('parley_message_status_total{')) continue;
    const status = STATUS_LABEL.exec(line)?.[1];
    if (status !== undefined && FINAL.has(status)) n += Number(line.split(' ').pop());
  }
  return n;
}

/**
 * Final statuses counted by the gateway's own metrics, from one scrape. The API port, not the
 * metrics port: that one serves text rendered once a second, which would end a drain up to a
 * second late.
 */
export async function finalCount(gw: GatewayProc): Promise<number> {
  return finalIn(await gw.scrape());
}

/**
 * Waits until `target` messages are final; samples the final count every second, so a rate that
 * decays (cost growing with what is queued or in flight) shows in `windows` (final/s per 10 s).
 */
export async function drain(
  gw: GatewayProc,
  target: number,
  base = 0,
  timeoutMs = 1_800_000,
): Promise<{ ms: number; submittedMs: number; windows: number[] }> {
  const t0 = performance.now();
  const samples: Array<[number, number]> = [];
  let submittedMs = 0;
  for (;;) {
    // One scrape per sample: seven (one per status and one for submits), as before, cost the
    // gateway ~7 % of its CPU per message in fresh runs.
    const text = await gw.scrape();
    const final = finalIn(text) - base;
    const now = performance.now() - t0;
    samples.push([now, final]);
    if (!submittedMs && metricSum(text, 'parley_segments_submit_total', 'result="ok"') - base >= target)
      submittedMs = now;
    if (final >= target) break;
    if (now > timeoutMs) throw new Error(`only ${final}/${target} final after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, samples.length % 10 === 0 ? 1_000 : 100));
  }
  const ms = performance.now() - t0;
  const windows: number[] = [];
  for (let w = 0; w * 10_000 < ms; w++) {
    const at = (t: number) => samples.filter(([s]) => s <= t).pop()?.[1] ?? 0;
    const a = at(w * 10_000);
    const b = at(Math.min(ms, (w + 1) * 10_000));
    const span = Math.min(ms, (w + 1) * 10_000) - w * 10_000;
    if (span > 2_000) windows.push(((b - a) * 1000) / span);
  }
  return { ms, submittedMs, windows };
}

/**
 * Open-loop single POSTs at `rate`/s for `seconds` after a warm-up at the same rate (connections,
 * JIT, statements): `warmupSeconds`, by default 2 or `seconds` if shorter.
 */
export async function offeredSingles(
  gw: GatewayProc,
  key: string,
  rate: number,
  seconds: number,
  /**
   * Awaited once the warm-up's requests are answered, right before the measured window: where a
   * caller takes its before-snapshots (server histograms, CPU), so they cover the window alone.
   */
  onWindowStart?: () => Promise<void>,
  warmupSeconds = Math.min(2, seconds),
): Promise<{ achieved: number; errors: number; p50: number; p99: number; clientLagP99: number }> {
  const warmup = Math.round(warmupSeconds * rate);
  const lat: number[] = [];
  let errors = 0;
  let tStart = performance.now();
  const inflight: Promise<void>[] = [];
  // BENCH_TRACE=file: one line per measured request (ms since the window began, its send time on
  // the monotonic clock in µs as CPU profiles and /proc schedstat samples count it, its latency
  // in ms), a `---` line after each window: to see when the slow requests come. Lines
  // `steal <ms since the window began> <ms>` say when the hypervisor took the VM's CPUs (sampled
  // every 10 ms; /proc/stat counts in 10-ms ticks), which no profile taken inside the VM shows.
  const trace: string[] | undefined = process.env.BENCH_TRACE ? [] : undefined;
  let stopSteal: (() => void) | undefined;
  // Lateness of a 10-ms timer, as the gateway's parley_event_loop_delay_seconds measures its own.
  const clientLag: number[] = [];
  let stopLag: (() => void) | undefined;
  for (let i = 0; i < warmup + rate * seconds; i++) {
    if (i === warmup) {
      await Promise.all(inflight.splice(0));
      await onWindowStart?.();
      // The load generator shares the machine: a response it reads late counts in its latency.
      // Its own event-loop delay over the window says how much of the tail is the client's.
      stopLag = sampleEventLoopDelay({ observe: (v: number) => void clientLag.push(v * 1000) });
      lat.length = 0;
      errors = 0;
      tStart = performance.now();
      if (trace) stopSteal = traceSteal(trace, tStart);
    }
    const due = tStart + ((i < warmup ? i : i - warmup) * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const s = performance.now();
    inflight.push(
      gw
        .postStatus(
          '/v1/messages',
          { to: `+1415${String(8_000_000 + (i % 1_000_000))}`, body: `single ${i}` },
          key,
        )
        .then((status) => {
          if (status !== 202) errors++;
          const took = performance.now() - s;
          lat.push(took);
          if (trace && i >= warmup) {
            const sentUs = Number(process.hrtime.bigint() / 1000n) - took * 1000;
            trace.push(`${(s - tStart).toFixed(1)} ${sentUs.toFixed(0)} ${took.toFixed(2)}`);
          }
        })
        .catch(() => {
          errors++;
        }),
    );
  }
  await Promise.all(inflight);
  stopSteal?.();
  if (trace) appendFileSync(process.env.BENCH_TRACE!, `${trace.join('\n')}\n---\n`);
  const achieved = (lat.length * 1000) / (performance.now() - tStart);
  lat.sort((a, b) => a - b);
  stopLag?.();
  clientLag.sort((a, b) => a - b);
  return {
    achieved,
    errors,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    clientLagP99: percentile(clientLag, 99),
  };
}

/** Appends a `steal` line to `trace` whenever the machine's steal grew; returns the stop. */
function traceSteal(trace: string[], tStart: number): () => void {
  let last = stealSeconds();
  const timer = setInterval(() => {
    const now = stealSeconds();
    if (now === last) return;
    trace.push(`steal ${(performance.now() - tStart).toFixed(1)} ${((now - last) * 1000).toFixed(0)}`);
    last = now;
  }, 10);
  return () => clearInterval(timer);
}

export interface WriterSnapshot {
  count: number;
  sum: number;
  items: number;
  buckets: Map<number, number>;
}

/** The batched writer `writer`'s write-duration histogram and item count, as the gateway exports them now. */
export async function writerSnapshot(gw: GatewayProc, writer: string): Promise<WriterSnapshot> {
  return histogramSnapshot(
    gw,
    'parley_db_write_duration_seconds',
    `writer="${writer}",result="ok"`,
    'parley_db_write_items_total',
  );
}

/** One series (labels containing `sel`) of histogram `name`, and optionally a counter `items` with the same labels. */
export async function histogramSnapshot(
  gw: GatewayProc,
  name: string,
  sel: string,
  items?: string,
): Promise<WriterSnapshot> {
  const text = await gw.scrape();
  const snap: WriterSnapshot = { count: 0, sum: 0, items: 0, buckets: new Map() };
  for (const line of text.split('\n')) {
    if (!line.includes(sel)) continue;
    const v = Number(line.split(' ').pop());
    if (line.startsWith(`${name}_count`)) snap.count = v;
    else if (line.startsWith(`${name}_sum`)) snap.sum = v;
    else if (items && line.startsWith(items)) snap.items = v;
    else if (line.startsWith(`${name}_bucket`)) {
      const le = line.match(/le="([^"]+)"/)?.[1];
      if (le) snap.buckets.set(le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), v);
    }
  }
  return snap;
}

/** The bucket bound (ms) under which fraction `q` of the observations between two snapshots fell. */
export function bucketQuantile(a: WriterSnapshot, b: WriterSnapshot, q: number): number {
  const n = b.count - a.count;
  for (const [le, c] of [...b.buckets].sort((x, y) => x[0] - y[0]))
    if (c - (a.buckets.get(le) ?? 0) >= q * n) return le * 1000;
  return Number.POSITIVE_INFINITY;
}

/** Between two snapshots: writes, items per write, mean and p99 (bucket bound) duration in ms. */
export function writerDelta(a: WriterSnapshot, b: WriterSnapshot): string {
  const n = b.count - a.count;
  if (n <= 0) return 'no writes';
  let p99 = Number.POSITIVE_INFINITY;
  for (const [le, c] of [...b.buckets].sort((x, y) => x[0] - y[0]))
    if (c - (a.buckets.get(le) ?? 0) >= 0.99 * n) {
      p99 = le;
      break;
    }
  return `${n} writes, ${((b.items - a.items) / n).toFixed(1)} items/write, mean ${(((b.sum - a.sum) * 1000) / n).toFixed(1)} ms, p99 ≤ ${p99 * 1000} ms`;
}
