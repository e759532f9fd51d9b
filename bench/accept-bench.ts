/**
 * npm run bench:accept [-- --rates 500,1000,2000 --seconds 10 --runs 3 --carrier up|down|both --warmup 10]
 *
 * Accept latency alone: single `POST /v1/messages` at fixed offered rates (64 keep-alive
 * connections, as the singles phase of `npm run bench`), against the gateway as `npm start` runs
 * it on a fresh database (DATABASE_URL). `--carrier up`: the simulator is bound, so every accepted
 * message is also submitted and its receipt stored while the next requests come in; `down`: no
 * SMSC, so the gateway does nothing but accept (and the messages wait queued). Per rate it prints
 * what the client saw (achieved rate, p50/p99/max), what the gateway measured (fastify's request
 * histogram: bucket bounds), the accept writer's round trips, the young-generation GC pauses, the
 * full collections, and the CPU each process used, so that a latency is told apart from a
 * saturated machine. The medians over the runs come last. `--warmup S`: seconds at each rate
 * before its measured window (default 10). With 2 (the default until 2026-12-06) V8 was still
 * compiling in the window's first seconds on two busy cores (perf: its worker thread's call
 * graphs), and a third or more of the slow requests of many runs fell in its first 600 ms;
 * `--warmup 2` shows that start, the default the steady state a long-running gateway is in.
 * `--neighbour 0.5,0.5`: processes busy that share of the time each, for the whole bench — how
 * much room a figure has before a slower or busier VM of the kind would break it.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  benchAccount,
  createDatabase,
  pgCpu,
  pgRunQueueWait,
  pgTransactions,
  startGateway,
  startSim,
} from './lib/cluster.ts';
import { machineProbe } from './lib/machine-probe.ts';
import { Neighbours } from './lib/neighbour.ts';
import {
  bucketQuantile,
  histogramSnapshot,
  offeredSingles,
  writerDelta,
  writerSnapshot,
} from './lib/phases.ts';
import { cpuSecondsOf, median, schedSecondsOf, stealSeconds } from './proc-stats.ts';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '500,1000,2000' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    carrier: { type: 'string', default: 'both' },
    warmup: { type: 'string', default: '10' },
    neighbour: { type: 'string', default: '' },
  },
});
const base = process.env.DATABASE_URL;
if (!base) {
  console.error('bench:accept: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test');
  process.exit(2);
}
const rates = values.rates.split(',').map(Number);
const seconds = Number(values.seconds);
const runs = Number(values.runs);
const warmupSeconds = Number(values.warmup);
const carriers = values.carrier === 'both' ? ['up', 'down'] : [values.carrier];
const neighbourShares = values.neighbour === '' ? [] : values.neighbour.split(',').map(Number);
if (
  neighbourShares.some((x) => !(x > 0 && x <= 1)) ||
  rates.some((r) => !(r > 0)) ||
  !(seconds >= 1) ||
  !(runs >= 1) ||
  !(warmupSeconds >= 0) ||
  carriers.some((c) => c !== 'up' && c !== 'down')
) {
  console.error(
    'bench:accept: --rates N,N… (>0) --seconds ≥1 --runs ≥1 --carrier up|down|both --warmup ≥0 --neighbour S,S… (0<S≤1)',
  );
  process.exit(2);
}
const fmt = (x: number, d = 0) =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : String(x);

interface Row {
  achieved: number;
  p50: number;
  p99: number;
  gwCores: number;
  pgCores: number;
}
const results = new Map<string, Row[]>();
const ROUTE = 'route="/v1/messages",method="POST"';
/** The gateway's event-loop delay histogram (cumulative; see sampleEventLoopDelay). */
const LOOP_DELAY = 'parley_event_loop_delay_seconds';

const GC_KINDS = ['minor', 'major', 'incremental'] as const;
type GcSnapshot = Record<(typeof GC_KINDS)[number], { count: number; sum: number }>;

/**
 * The gateway's GC histograms by kind. Full collections (major, with their incremental marking)
 * are counted beside the young-generation pauses: with too small a heap limit they came every
 * few seconds, each with tens of ms of marking on the main thread (the latency clusters).
 */
async function gcSnapshot(gw: Parameters<typeof histogramSnapshot>[0]): Promise<GcSnapshot> {
  const out = {} as GcSnapshot;
  for (const kind of GC_KINDS)
    out[kind] = await histogramSnapshot(gw, 'parley_nodejs_gc_duration_seconds', `kind="${kind}"`);
  return out;
}

/** Per kind: collections and their total duration (ms) between two snapshots. */
function gcDelta(a: GcSnapshot, b: GcSnapshot): Record<keyof GcSnapshot, { n: number; ms: number }> {
  const out = {} as Record<keyof GcSnapshot, { n: number; ms: number }>;
  for (const kind of GC_KINDS)
    out[kind] = { n: b[kind].count - a[kind].count, ms: (b[kind].sum - a[kind].sum) * 1000 };
  return out;
}

console.log(await machineProbe());
// Started after the probe, so that it reads the machine alone.
const neighbours = new Neighbours(neighbourShares);
console.log(
  `bench:accept: rates=${rates.join(',')}/s seconds=${seconds} runs=${runs} carrier=${carriers.join(',')} cpus=${os.cpus().length} node=${process.version}` +
    (neighbours.count > 0 ? ` neighbours=${neighbourShares.join(',')}` : ''),
);

for (let run = 1; run <= runs; run++) {
  for (const carrier of carriers) {
    const db = await createDatabase(base, 'accept');
    const sim = await startSim();
    const gw = await startGateway(db.url, sim.port, { binds: 2, window: 100 });
    try {
      if (carrier === 'down') await sim.stop();
      const key = await benchAccount(gw);
      // The run's round trips to PostgreSQL (see pgTransactions).
      const stats = await db.client();
      const xacts = () => pgTransactions(stats, db.name);
      // Warm the JIT and the connection pools before the first measured rate.
      await offeredSingles(gw, key, Math.min(500, rates[0]!), 2);
      for (const rate of rates) {
        // Taken when the measured window begins (after offeredSingles' warm-up), so that the
        // server-side histogram and the CPU figures leave the warm-up's slower requests out.
        const snapshot = async () => ({
          h0: await histogramSnapshot(gw, 'parley_http_request_duration_seconds', ROUTE),
          d0: await histogramSnapshot(gw, LOOP_DELAY, ''),
          w0: await writerSnapshot(gw, 'accept'),
          gc0: await gcSnapshot(gw),
          x0: await xacts(),
          c0: {
            gw: cpuSecondsOf(gw.pid),
            pg: pgCpu(),
            me: process.cpuUsage(),
            sim: simCpu(sim, carrier),
            loop: schedSecondsOf(gw.pid),
            pgWait: pgRunQueueWait(),
            steal: stealSeconds(),
            nb: neighbours.cpuSeconds(),
          },
          t0: performance.now(),
        });
        let start: Awaited<ReturnType<typeof snapshot>> | undefined;
        const r = await offeredSingles(
          gw,
          key,
          rate,
          seconds,
          async () => {
            start = await snapshot();
          },
          warmupSeconds,
        );
        if (!start) throw new Error('offeredSingles never began its measured window');
        const { h0, d0, w0, gc0, x0, c0, t0 } = start;
        const s = (performance.now() - t0) / 1000;
        const me = process.cpuUsage(c0.me);
        const busy = {
          gw: (cpuSecondsOf(gw.pid) - c0.gw) / s,
          pg: (pgCpu() - c0.pg) / s,
          sim: (simCpu(sim, carrier) - c0.sim) / s,
          me: (me.user + me.system) / 1e6 / s,
          nb: (neighbours.cpuSeconds() - c0.nb) / s,
        };
        const loop = schedSecondsOf(gw.pid);
        // ms per second the event-loop thread ran, and waited runnable for a CPU (see schedSecondsOf).
        const sched = {
          run: ((loop.run - c0.loop.run) * 1000) / s,
          wait: ((loop.wait - c0.loop.wait) * 1000) / s,
          pgWait: ((pgRunQueueWait() - c0.pgWait) * 1000) / s,
          steal: ((stealSeconds() - c0.steal) * 1000) / s,
        };
        const h1 = await histogramSnapshot(gw, 'parley_http_request_duration_seconds', ROUTE);
        const d1 = await histogramSnapshot(gw, LOOP_DELAY, '');
        const w1 = await writerSnapshot(gw, 'accept');
        const gc = gcDelta(gc0, await gcSnapshot(gw));
        const transactions = (await xacts()) - x0;
        const requests = h1.count - h0.count;
        console.log(
          `run ${run} carrier ${carrier} ${rate}/s offered: achieved=${fmt(r.achieved)}/s errors=${r.errors} client p50=${fmt(r.p50, 1)} ms p99=${fmt(r.p99, 1)} ms; ` +
            `server p50 ≤ ${fmt(bucketQuantile(h0, h1, 0.5))} ms p99 ≤ ${fmt(bucketQuantile(h0, h1, 0.99))} ms; event-loop delay p99 ≤ ${fmt(bucketQuantile(d0, d1, 0.99), 1)} ms (load generator's ${fmt(r.clientLagP99, 1)} ms)`,
        );
        console.log(
          `  accept writer: ${writerDelta(w0, w1)}; minor GC: ${gc.minor.n} pauses, mean ${fmt(gc.minor.n > 0 ? gc.minor.ms / gc.minor.n : Number.NaN, 1)} ms; ` +
            `full GC: ${gc.major.n} (pauses ${fmt(gc.major.ms, 1)} ms, incremental marking ${fmt(gc.incremental.ms, 1)} ms); ` +
            `CPU (cores): gateway=${fmt(busy.gw, 2)} (${fmt((busy.gw * s * 1e6) / Math.max(1, requests))} µs/request) postgres=${fmt(busy.pg, 2)} simulator=${fmt(busy.sim, 2)} load generator=${fmt(busy.me, 2)}${neighbours.count > 0 ? ` neighbours=${fmt(busy.nb, 2)}` : ''} of ${os.cpus().length}`,
        );
        console.log(
          `  run queue: the gateway's event-loop thread ran ${fmt(sched.run)} ms/s and waited for a CPU ${fmt(sched.wait)} ms/s; postgres processes waited ${fmt(sched.pgWait)} ms/s; ` +
            `the hypervisor took ${fmt(sched.steal)} ms/s of the machine's CPUs (steal); ` +
            `PostgreSQL ${fmt(transactions / s)} transactions/s (${fmt(transactions / Math.max(1, requests), 2)} per request)`,
        );
        const k = `${carrier} ${rate}`;
        results.set(k, [
          ...(results.get(k) ?? []),
          { achieved: r.achieved, p50: r.p50, p99: r.p99, gwCores: busy.gw, pgCores: busy.pg },
        ]);
      }
    } finally {
      await gw.stop();
      if (carrier === 'up') await sim.stop();
      await db.drop();
    }
  }
}

console.log('\nmedians over runs:');
for (const [k, rs] of results) {
  const m = (f: keyof Row) => median(rs.map((x) => x[f]));
  const [carrier, rate] = k.split(' ');
  console.log(
    `  carrier ${carrier} ${rate}/s offered: achieved=${fmt(m('achieved'))}/s p50=${fmt(m('p50'), 1)} ms p99=${fmt(m('p99'), 1)} ms (p99 ${fmt(Math.min(...rs.map((x) => x.p99)), 1)}–${fmt(Math.max(...rs.map((x) => x.p99)), 1)}) gateway=${fmt(m('gwCores'), 2)} postgres=${fmt(m('pgCores'), 2)} cores`,
  );
}
neighbours.stop();
process.exit(0);

function simCpu(sim: { child: { child: { pid?: number } } }, carrier: string): number {
  if (carrier === 'down') return 0;
  try {
    return cpuSecondsOf(sim.child.child.pid!);
  } catch {
    return 0;
  }
}
