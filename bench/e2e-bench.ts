/**
 * npm run bench [-- --mode fresh|preload|backlog|all --n 100000 --runs 3 --preload 1000000
 *                  --backlog 1000000 --vs-kannel --offered 2000 --offered-seconds 10 --keep-db
 *                  --rules off|on|both --limits off|on|both --recipients 4000000]
 *
 * The gateway as `npm start` runs it (bundle, heap flags) and the simulator as separate processes,
 * with PostgreSQL (DATABASE_URL). Per run and mode, prints accepted/s, final-status/s, the
 * drain rate per 10 s window, PostgreSQL transactions and CPU per message, CPU and memory per
 * process, then single POSTs at a fixed offered rate (accept p50/p99); at the end the medians of
 * every mode over the runs, and with --vs-kannel Kannel's DLR/s against the same simulator in
 * the same invocation, and the ratios. Kannel runs once after each of our runs (interleaved), and
 * each mode is compared with the Kannel runs beside its own: a VM of the kind can change speed
 * within minutes (the same build's CPU per message 30 % apart a quarter of an hour apart), and
 * Kannel measured only at the end compared our runs with a differently fast machine.
 *   fresh:   an empty database per run.
 *   preload: one database with --preload finished messages of history (not analyzed), runs on it
 *            (--keep-db leaves it, and each fresh run's database, for inspection).
 *   backlog: --backlog messages accepted while the carrier is down, then the SMSC comes up: the
 *            drain rate, first windows against last.
 * --rules on turns the per-message compliance rules on for the bench account (opt-out is always
 * on): the first-message footer (every bench recipient is new, so every message claims it) and
 * quiet hours with a 00:00–23:59 window (evaluated for every message, never closing during a run
 * that avoids 23:59 in the recipients' zone); `both` measures fresh with them off, then on.
 * --recipients N cycles the batch load over N recipients (default: every one new, so each message
 * creates its contact and, with the rules on, claims the footer); e.g. 1000 for a platform's repeat
 * traffic, where contacts exist and their first message is taken.
 * --limits on turns the rate limits on (the dispatch policy takes every segment from the
 * limiter), set high enough not to bind (the bench number at 1,000,000 segments/s), to measure
 * what limiting costs; `both` measures fresh with them off, then on, in the same run.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  benchAccount,
  createDatabase,
  type GatewayProc,
  pgCpu,
  pgRss,
  pgTransactions,
  startGateway,
  startSim,
} from './lib/cluster.ts';
import { InterleavedKannel } from './lib/kannel.ts';
import { machineProbe } from './lib/machine-probe.ts';
import {
  batchLoad,
  bucketQuantile,
  drain,
  histogramSnapshot,
  offeredSingles,
  writerDelta,
  writerSnapshot,
} from './lib/phases.ts';
import { preload } from './lib/preload.ts';
import { cpuSecondsOf, median, percentile, rssOf, stealSeconds } from './proc-stats.ts';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'fresh' },
    n: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    preload: { type: 'string', default: '1000000' },
    backlog: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '4' },
    offered: { type: 'string', default: '2000' },
    'offered-seconds': { type: 'string', default: '10' },
    'vs-kannel': { type: 'boolean', default: false },
    'keep-db': { type: 'boolean', default: false },
    rules: { type: 'string', default: 'off' },
    limits: { type: 'string', default: 'off' },
    'kannel-n': { type: 'string', default: '20000' },
    binds: { type: 'string', default: '2' },
    window: { type: 'string', default: '100' },
    recipients: { type: 'string', default: '4000000' },
  },
});
const base = process.env.DATABASE_URL;
if (!base) {
  console.error(
    'bench: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test (PostgreSQL is the system of record)',
  );
  process.exit(2);
}
const N = Number(values.n);
const RUNS = Number(values.runs);
const RECIPIENTS = Number(values.recipients);
if (!(RECIPIENTS >= 1 && RECIPIENTS <= 4_000_000)) {
  console.error('bench: --recipients must be 1 to 4000000');
  process.exit(2);
}
const modes = values.mode === 'all' ? ['fresh', 'preload', 'backlog'] : String(values.mode).split(',');
const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const gwOpts = { binds: Number(values.binds), window: Number(values.window) };
const admin = new pg.Client({ connectionString: base });
await admin.connect();
/** Checkpoints started and buffers written by backends themselves (shared_buffers too small), cluster-wide. */
const bgwriter = async () => {
  const r = (
    await admin.query(
      'SELECT (checkpoints_timed + checkpoints_req)::int AS c, buffers_backend::bigint AS b FROM pg_stat_bgwriter',
    )
  ).rows[0];
  return { checkpoints: Number(r.c), backendWrites: Number(r.b) };
};
const xacts = (db: string) => pgTransactions(admin, db);

execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
console.log(await machineProbe());
console.log(
  `bench: modes=${modes.join(',')} N=${N} runs=${RUNS} batch=${values.batch}×${values.concurrency} recipients=${Math.min(RECIPIENTS, N)} binds=${values.binds} window=${values.window} node=${process.version}`,
);

interface RunResult {
  finalPerSec: number;
  acceptedPerSec: number;
  p50: number;
  p99: number;
  pgUs: number;
  gwUs: number;
}
const results = new Map<string, RunResult[]>();
/** With --vs-kannel, a Kannel run after each of ours (see the file's comment). */
const kannel = values['vs-kannel']
  ? new InterleavedKannel(Number(values['kannel-n']), (s) => console.log(s))
  : undefined;

/** Samples peak RSS of the gateway, simulator and PostgreSQL while `fn` runs. */
async function sampled<T>(
  gw: GatewayProc,
  simPid: number,
  fn: () => Promise<T>,
): Promise<{ r: T; gwMb: number; simMb: number; pgMb: number }> {
  let gwMb = 0;
  let simMb = 0;
  let pgMb = 0;
  const t = setInterval(() => {
    try {
      gwMb = Math.max(gwMb, rssOf(gw.pid).rssMb);
      simMb = Math.max(simMb, rssOf(simPid).rssMb);
      pgMb = Math.max(pgMb, pgRss());
    } catch {
      // a process ended
    }
  }, 250);
  try {
    return { r: await fn(), gwMb, simMb, pgMb };
  } finally {
    clearInterval(t);
  }
}

/** One measured run on `dbName`: batch load to final statuses, then single POSTs. */
async function measure(
  mode: string,
  run: number,
  db: { name: string; url: string },
  rules = false,
  limits = false,
): Promise<void> {
  const sim = await startSim();
  const gw = await startGateway(
    db.url,
    sim.port,
    limits
      ? {
          ...gwOpts,
          env: {
            PARLEY_RATE_LIMITS: 'on',
            PARLEY_RATE_LIMIT_OVERRIDES: JSON.stringify({ numberPerSecond: { local: 1_000_000 } }),
          },
        }
      : gwOpts,
  );
  try {
    const key = await benchAccount(gw);
    if (rules) {
      const s = await gw.call(
        '/v1/settings/messaging-compliance',
        { footer: { enabled: true }, quietHours: { enabled: true, start: '00:00', end: '23:59' } },
        key,
        'PUT',
      );
      if (!s.footer?.enabled || !s.quietHours?.enabled)
        throw new Error(`rules not set: ${JSON.stringify(s)}`);
    }
    const x0 = await xacts(db.name);
    const c0 = {
      gw: cpuSecondsOf(gw.pid),
      sim: cpuSecondsOf(sim.child.child.pid!),
      pg: pgCpu(),
      steal: stealSeconds(),
    };
    const t0 = performance.now();
    // Prometheus scrapes while the gateway carries its full load: /metrics must stay fast.
    const scrapeMs: number[] = [];
    const dedicatedMs: number[] = [];
    let scraping = true;
    const scrapeLoop = async (scrape: () => Promise<string>, into: number[]) => {
      while (scraping) {
        const s0 = performance.now();
        await scrape();
        into.push(performance.now() - s0);
        await new Promise((res) => setTimeout(res, 500));
      }
    };
    const scraper = Promise.all([
      scrapeLoop(gw.scrape, scrapeMs),
      scrapeLoop(gw.scrapeDedicated, dedicatedMs),
    ]);
    const { r, gwMb, simMb, pgMb } = await sampled(gw, sim.child.child.pid!, async () => {
      const load = await batchLoad(
        gw,
        key,
        N,
        Number(values.batch),
        Number(values.concurrency),
        `${mode}-${run}`,
        RECIPIENTS,
      );
      const d = await drain(gw, N);
      return { load, d };
    });
    const totalMs = performance.now() - t0;
    scraping = false;
    await scraper;
    scrapeMs.sort((x, y) => x - y);
    dedicatedMs.sort((x, y) => x - y);
    await new Promise((res) => setTimeout(res, 1_000));
    const c1 = {
      gw: cpuSecondsOf(gw.pid),
      sim: cpuSecondsOf(sim.child.child.pid!),
      pg: pgCpu(),
      steal: stealSeconds(),
      at: performance.now(),
    };
    const x1 = await xacts(db.name);
    // Taken when the singles' measured window begins (after their warm-up), so that the server-side
    // histogram, the writers and the CPU figures leave the warm-up's slower requests out.
    const snapshot = async () => ({
      w0: await writerSnapshot(gw, 'accept'),
      fc0: await writerSnapshot(gw, 'first_message_claims'),
      l0: await writerSnapshot(gw, 'contact_lookup'),
      b0: await bgwriter(),
      d0: await histogramSnapshot(gw, 'parley_event_loop_delay_seconds', ''),
      h0: await histogramSnapshot(
        gw,
        'parley_http_request_duration_seconds',
        'route="/v1/messages",method="POST"',
      ),
      s0: {
        gw: cpuSecondsOf(gw.pid),
        sim: cpuSecondsOf(sim.child.child.pid!),
        pg: pgCpu(),
        me: process.cpuUsage(),
      },
      singlesT0: performance.now(),
    });
    let start: Awaited<ReturnType<typeof snapshot>> | undefined;
    const singles = await offeredSingles(
      gw,
      key,
      Number(values.offered),
      Number(values['offered-seconds']),
      async () => {
        start = await snapshot();
      },
    );
    if (!start) throw new Error('offeredSingles never began its measured window');
    const { w0, fc0, l0, b0, d0, h0, s0, singlesT0 } = start;
    const singlesS = (performance.now() - singlesT0) / 1000;
    const me = process.cpuUsage(s0.me);
    const busy = {
      gw: (cpuSecondsOf(gw.pid) - s0.gw) / singlesS,
      pg: (pgCpu() - s0.pg) / singlesS,
      sim: (cpuSecondsOf(sim.child.child.pid!) - s0.sim) / singlesS,
      bench: (me.user + me.system) / 1e6 / singlesS,
    };
    const d1 = await histogramSnapshot(gw, 'parley_event_loop_delay_seconds', '');
    const h1 = await histogramSnapshot(
      gw,
      'parley_http_request_duration_seconds',
      'route="/v1/messages",method="POST"',
    );
    const b1 = await bgwriter();
    const w1 = await writerSnapshot(gw, 'accept');
    const fc1 = await writerSnapshot(gw, 'first_message_claims');
    const l1 = await writerSnapshot(gw, 'contact_lookup');
    const res: RunResult = {
      finalPerSec: (N * 1000) / totalMs,
      acceptedPerSec: (r.load.accepted * 1000) / r.load.ms,
      p50: singles.p50,
      p99: singles.p99,
      pgUs: ((c1.pg - c0.pg) * 1e6) / N,
      gwUs: ((c1.gw - c0.gw) * 1e6) / N,
    };
    results.set(mode, [...(results.get(mode) ?? []), res]);
    console.log(
      `${mode} run ${run}: accepted/s=${fmt(res.acceptedPerSec)} final-status/s=${fmt(res.finalPerSec)} (all final after ${fmt(totalMs / 1000, 1)} s)` +
        ` drain windows/s=[${r.d.windows.map((w) => fmt(w)).join(' ')}]` +
        // Time the hypervisor gave away while the VM wanted its CPUs (see stealSeconds).
        ` steal=${fmt(((c1.steal - c0.steal) * 1e6) / (c1.at - t0))} ms/s`,
    );
    console.log(
      `  batch request p50/p99 ${fmt(percentile(r.load.latencies, 50))}/${fmt(percentile(r.load.latencies, 99))} ms;` +
        ` PostgreSQL ${x1 - x0} transactions (${fmt((x1 - x0) / N, 3)}/message), CPU µs/message: postgres=${fmt(res.pgUs)} gateway=${fmt(res.gwUs)} simulator=${fmt(((c1.sim - c0.sim) * 1e6) / N)}`,
    );
    console.log(
      `  peak RSS MB: gateway=${fmt(gwMb)} simulator=${fmt(simMb)} postgres(all)=${fmt(pgMb)};` +
        ` single POST at ${values.offered}/s: achieved=${fmt(singles.achieved)}/s errors=${singles.errors} accept p50=${fmt(singles.p50, 1)} ms p99=${fmt(singles.p99, 1)} ms (event-loop delay p99 ≤ ${fmt(bucketQuantile(d0, d1, 0.99), 1)} ms;` +
        ` accept writer: ${writerDelta(w0, w1)}; contact lookups: ${writerDelta(l0, l1)}` +
        (rules ? `; footer claims: ${writerDelta(fc0, fc1)}` : '') +
        `; PostgreSQL checkpoints begun ${b1.checkpoints - b0.checkpoints}, buffers written by backends ${b1.backendWrites - b0.backendWrites})`,
    );
    console.log(
      `  singles, server side (fastify, from request to reply): p50 ≤ ${fmt(bucketQuantile(h0, h1, 0.5), 1)} ms p99 ≤ ${fmt(bucketQuantile(h0, h1, 0.99), 1)} ms;` +
        ` CPU busy (cores): gateway=${fmt(busy.gw, 2)} postgres=${fmt(busy.pg, 2)} simulator=${fmt(busy.sim, 2)} load generator=${fmt(busy.bench, 2)} of ${os.cpus().length}`,
    );
    console.log(
      `  GET /metrics during the load: API port ${scrapeMs.length} scrapes, p50=${fmt(percentile(scrapeMs, 50), 1)} ms p99=${fmt(percentile(scrapeMs, 99), 1)} ms max=${fmt(Math.max(...scrapeMs), 1)} ms; metrics port (PARLEY_METRICS_PORT) ${dedicatedMs.length} scrapes, p50=${fmt(percentile(dedicatedMs, 50), 1)} ms p99=${fmt(percentile(dedicatedMs, 99), 1)} ms max=${fmt(Math.max(...dedicatedMs), 1)} ms`,
    );
  } finally {
    await gw.stop();
    await sim.stop();
  }
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Accept `count` with no SMSC, then bring the SMSC up and measure the drain. */
async function backlog(run: number, count: number): Promise<void> {
  const db = await createDatabase(base!, 'backlog');
  const port = await freePort();
  const gw = await startGateway(db.url, port, gwOpts);
  try {
    const key = await benchAccount(gw);
    const load = await batchLoad(
      gw,
      key,
      count,
      Number(values.batch),
      Number(values.concurrency),
      `backlog-${run}`,
      RECIPIENTS,
    );
    console.log(
      `backlog run ${run}: accepted ${load.accepted} with the carrier down in ${fmt(load.ms / 1000, 1)} s (${fmt((load.accepted * 1000) / load.ms)}/s), gateway RSS ${fmt(rssOf(gw.pid).rssMb)} MB`,
    );
    const sim = await startSim(port);
    try {
      const c0 = { gw: cpuSecondsOf(gw.pid), pg: pgCpu(), steal: stealSeconds() };
      const { r: d, gwMb } = await sampled(gw, sim.child.child.pid!, () => drain(gw, count));
      const c1 = { gw: cpuSecondsOf(gw.pid), pg: pgCpu(), steal: stealSeconds() };
      const res: RunResult = {
        finalPerSec: (count * 1000) / d.ms,
        acceptedPerSec: (load.accepted * 1000) / load.ms,
        p50: Number.NaN,
        p99: Number.NaN,
        pgUs: ((c1.pg - c0.pg) * 1e6) / count,
        gwUs: ((c1.gw - c0.gw) * 1e6) / count,
      };
      results.set('backlog', [...(results.get('backlog') ?? []), res]);
      const w = d.windows;
      console.log(
        `  drained ${count} in ${fmt(d.ms / 1000, 1)} s: final-status/s=${fmt(res.finalPerSec)}; per 10 s window: [${w.map((x) => fmt(x)).join(' ')}]` +
          ` (first ${fmt(w[0] ?? Number.NaN)}, last full ${fmt(w[w.length - 2] ?? w[0] ?? Number.NaN)}); CPU µs/message postgres=${fmt(res.pgUs)} gateway=${fmt(res.gwUs)}; gateway peak RSS ${fmt(gwMb)} MB; steal ${fmt(((c1.steal - c0.steal) * 1e6) / d.ms)} ms/s`,
      );
    } finally {
      await sim.stop();
    }
  } finally {
    await gw.stop();
    await db.drop();
  }
}

for (const mode of modes) {
  if (mode === 'fresh') {
    const both = (v: string | undefined) => (v === 'both' ? [false, true] : [v === 'on']);
    const variants = both(values.rules).flatMap((rules) =>
      both(values.limits).map((limits) => ({ rules, limits })),
    );
    for (let run = 1; run <= RUNS; run++) {
      for (const { rules, limits } of variants) {
        const db = await createDatabase(base, 'fresh');
        try {
          await measure(`fresh${rules ? '+rules' : ''}${limits ? '+limits' : ''}`, run, db, rules, limits);
        } finally {
          if (values['keep-db']) console.log(`fresh: kept database ${db.name}`);
          else await db.drop();
        }
        await kannel?.after(`fresh${rules ? '+rules' : ''}${limits ? '+limits' : ''}`);
      }
    }
  } else if (mode === 'preload') {
    const db = await createDatabase(base, 'preload');
    try {
      // The schema first (the gateway migrates), then the history.
      const sim = await startSim();
      const gw = await startGateway(db.url, sim.port, gwOpts);
      await gw.stop();
      await sim.stop();
      await preload(db.url, Number(values.preload), (s) => console.log(s));
      for (let run = 1; run <= RUNS; run++) {
        await measure('preload', run, db);
        await kannel?.after('preload');
      }
    } finally {
      if (values['keep-db']) console.log(`preload: kept database ${db.name}`);
      else await db.drop();
    }
  } else if (mode === 'backlog') {
    for (let run = 1; run <= RUNS; run++) {
      await backlog(run, Number(values.backlog));
      await kannel?.after('backlog');
    }
  } else throw new Error(`unknown mode ${mode}`);
}

console.log('\nmedians over runs:');
for (const [mode, rs] of results) {
  const m = (k: keyof RunResult) => median(rs.map((r) => r[k]));
  const range = `${fmt(Math.min(...rs.map((r) => r.finalPerSec)))}–${fmt(Math.max(...rs.map((r) => r.finalPerSec)))}`;
  const beside = kannel?.median(mode);
  console.log(
    `  ${mode}: final-status/s=${fmt(m('finalPerSec'))} (${range}, ${rs.length} runs)` +
      (beside ? ` = ${fmt(m('finalPerSec') / beside, 2)}× Kannel (${fmt(beside)} DLR/s beside it)` : '') +
      ` accepted/s=${fmt(m('acceptedPerSec'))}` +
      (mode === 'backlog' ? '' : ` accept p50=${fmt(m('p50'), 1)} ms p99=${fmt(m('p99'), 1)} ms`) +
      ` CPU µs/message postgres=${fmt(m('pgUs'))} gateway=${fmt(m('gwUs'))}`,
  );
}
const off = results.get('fresh');
const on = results.get('fresh+rules');
if (off && on) {
  const m = (rs: RunResult[], k: keyof RunResult) => median(rs.map((r) => r[k]));
  console.log(
    `  compliance rules cost: final-status/s ${fmt((1 - m(on, 'finalPerSec') / m(off, 'finalPerSec')) * 100, 1)} % lower, accepted/s ${fmt((1 - m(on, 'acceptedPerSec') / m(off, 'acceptedPerSec')) * 100, 1)} % lower with them on`,
  );
}
const limited = results.get('fresh+limits');
if (off && limited) {
  const m = (rs: RunResult[], k: keyof RunResult) => median(rs.map((r) => r[k]));
  console.log(
    `  rate limits cost (on, not binding): final-status/s ${fmt((1 - m(limited, 'finalPerSec') / m(off, 'finalPerSec')) * 100, 1)} % lower, accepted/s ${fmt((1 - m(limited, 'acceptedPerSec') / m(off, 'acceptedPerSec')) * 100, 1)} % lower, gateway CPU µs/message ${fmt(m(off, 'gwUs'))} → ${fmt(m(limited, 'gwUs'))}`,
  );
}
if (kannel) console.log(`  kannel: ${kannel.summary()}`);
await admin.end();
process.exit(0);
