/**
 * npm run bench [-- --n 100000 --batch 1000 --concurrency 4 --offered 2000 --offered-seconds 10 --vs-kannel]
 * Gateway (src/main.ts) and simulator as separate processes with PostgreSQL (DATABASE_URL, a fresh
 * database per run). N messages through the batch API; prints accepted/s, submitted/s,
 * final-status/s, accept latency, submit→receipt latency, CPU and RSS per process. Then single
 * POSTs at a fixed offered rate for accept p50/p99. --vs-kannel also runs Kannel against the same
 * simulator (../shared/peers/kannel/bench-e2e.sh) and prints the ratio.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { runTs } from '../test/helpers/processes.ts';
import { cpuSecondsOf, percentile, rssOf } from './proc-stats.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '4' },
    offered: { type: 'string', default: '2000' },
    'offered-seconds': { type: 'string', default: '10' },
    'vs-kannel': { type: 'boolean', default: false },
    'kannel-n': { type: 'string', default: '20000' },
    binds: { type: 'string', default: '2' },
    window: { type: 'string', default: '100' },
  },
});
const N = Number(values.n);
const BATCH = Number(values.batch);
const CONC = Number(values.concurrency);
const ADMIN = 'bench-admin-token-0123456789';
const base = process.env.DATABASE_URL;
if (!base) {
  console.error(
    'bench: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test (PostgreSQL is the system of record)',
  );
  process.exit(2);
}

function postgresPids(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim().startsWith('postgres')) out.push(Number(d));
    } catch {
      // process ended
    }
  }
  return out;
}
const pgCpu = () =>
  postgresPids().reduce(
    (s, p) =>
      s +
      (() => {
        try {
          return cpuSecondsOf(p);
        } catch {
          return 0;
        }
      })(),
    0,
  );
const pgRss = () =>
  postgresPids().reduce(
    (s, p) =>
      s +
      (() => {
        try {
          return rssOf(p).rssMb;
        } catch {
          return 0;
        }
      })(),
    0,
  );
const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');

const dbName = `parley_bench_${Date.now() % 1e8}`;
const admin = new pg.Client({ connectionString: base });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const u = new URL(base);
u.pathname = `/${dbName}`;
const dbUrl = u.toString();

const sim = runTs('simulator/main.ts', ['--port', '0', '--control-port', '0', '--seed', '1'], {});
const simReady = await sim.waitLine((o) => o.msg === 'simulator ready', 20_000);
const smscPort = Number(String(simReady.smpp).split(':')[1]);
const cfgFile = path.join(os.tmpdir(), `parley-bench-${process.pid}.json`);
writeFileSync(
  cfgFile,
  JSON.stringify({
    carriers: [
      {
        id: 'sim',
        host: '127.0.0.1',
        port: smscPort,
        systemId: 'bench',
        password: 'x',
        windowSize: Number(values.window),
        binds: [{ mode: 'trx', count: Number(values.binds) }],
      },
    ],
  }),
);
// The gateway runs as `npm start` runs it: the esbuild bundle under plain node, with its heap flags.
execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
const START_FLAGS = /node (.*) dist\/main\.js/
  .exec(JSON.parse(readFileSync('package.json', 'utf8')).scripts.start)![1]!
  .split(' ');
const gw = runTs(
  'dist/main.js',
  [],
  {
    DATABASE_URL: dbUrl,
    PARLEY_CONFIG: cfgFile,
    PARLEY_ADMIN_TOKEN: ADMIN,
    PORT: '0',
    LOG_LEVEL: 'info',
    PARLEY_DB_POOL: '16',
  },
  [...START_FLAGS, ...(process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean)],
);
const listening = await gw.waitLine((o) => o.msg === 'parley listening', 60_000);
const url = String(listening.address);

async function call(p: string, body: unknown, key: string): Promise<any> {
  const r = await fetch(`${url}${p}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return r.json();
}
// Keep-alive with a bounded pool, as an API client would: a new TCP connection per request would
// measure SYN backlog overflow instead of the gateway.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function postJson(p: string, body: unknown, key: string): Promise<number> {
  const data = JSON.stringify(body);
  const target = new URL(p, url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(data),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function metric(name: string, label = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(name) && line.includes(label)) sum += Number(line.split(' ').pop());
  return sum;
}

const account = await call('/v1/admin/accounts', { name: 'bench' }, ADMIN);
await call('/v1/admin/numbers', { accountId: account.id, number: '+15550108888', type: 'local' }, ADMIN);
const key = account.apiKey as string;

console.log(
  `bench: N=${N} batch=${BATCH} concurrency=${CONC} binds=${values.binds} window=${values.window} db=${dbName} node=${process.version}`,
);
const cpu0 = {
  gw: cpuSecondsOf(gw.child.pid!),
  sim: cpuSecondsOf(sim.child.pid!),
  pg: pgCpu(),
  me: process.cpuUsage(),
};
const t0 = performance.now();
const acceptLat: number[] = [];
let nextBatch = 0;
let tAccepted = 0;
let accepted = 0;
const batches = Math.ceil(N / BATCH);
let peakGwRss = 0;
let peakSimRss = 0;
let peakPgRss = 0;
let peakHeap = 0;
let peakExternal = 0;
const memSampler = setInterval(() => {
  void Promise.all([
    metric('parley_nodejs_heap_size_used_bytes'),
    metric('parley_nodejs_external_memory_bytes'),
  ]).then(([h, e]) => {
    peakHeap = Math.max(peakHeap, h / 2 ** 20);
    peakExternal = Math.max(peakExternal, e / 2 ** 20);
  });
}, 1000);
const sampler = setInterval(() => {
  peakGwRss = Math.max(peakGwRss, rssOf(gw.child.pid!).rssMb);
  peakSimRss = Math.max(peakSimRss, rssOf(sim.child.pid!).rssMb);
  peakPgRss = Math.max(peakPgRss, pgRss());
}, 250);
await Promise.all(
  Array.from({ length: CONC }, async () => {
    while (nextBatch < batches) {
      const b = nextBatch++;
      const size = Math.min(BATCH, N - b * BATCH);
      const messages = Array.from({ length: size }, (_, i) => ({
        to: `+1415${String(5000000 + b * BATCH + i).padStart(7, '0')}`,
        body: `Parley bench message ${b * BATCH + i}`,
      }));
      const s = performance.now();
      const r = await call('/v1/messages/batch', { messages }, key);
      acceptLat.push(performance.now() - s);
      accepted += r.accepted ?? 0;
    }
  }),
);
tAccepted = performance.now() - t0;
let tSubmitted = 0;
let tFinal = 0;
for (;;) {
  const sent = await metric('parley_segments_submit_total', 'result="ok"');
  const final =
    (await metric('parley_message_status_total', 'status="delivered"')) +
    (await metric('parley_message_status_total', 'status="failed"')) +
    (await metric('parley_message_status_total', 'status="expired"'));
  if (!tSubmitted && sent >= N) tSubmitted = performance.now() - t0;
  if (final >= N) {
    tFinal = performance.now() - t0;
    break;
  }
  if (performance.now() - t0 > 600_000) break;
  await new Promise((r) => setTimeout(r, 100));
}
clearInterval(sampler);
clearInterval(memSampler);
const cpu1 = {
  gw: cpuSecondsOf(gw.child.pid!),
  sim: cpuSecondsOf(sim.child.pid!),
  pg: pgCpu(),
  me: process.cpuUsage(cpu0.me),
};
const db = new pg.Client({ connectionString: dbUrl });
await db.connect();
const lat = (
  await db.query<{ p50: number; p99: number }>(
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - submitted_at)) * 1000 AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - submitted_at)) * 1000 AS p99 FROM segments WHERE status = 'delivered'",
  )
).rows[0]!;
const e2e = (
  await db.query<{ p50: number; p99: number }>(
    'SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at)) * 1000 AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at)) * 1000 AS p99 FROM messages',
  )
).rows[0]!;
const statuses = (await db.query('SELECT status, count(*)::int AS n FROM messages GROUP BY status')).rows;
acceptLat.sort((a, b) => a - b);
console.log(`batch load: accepted=${accepted}/${N} statuses=${JSON.stringify(statuses)}`);
console.log(
  `  accepted/s=${fmt((accepted * 1000) / tAccepted)}  submitted/s=${fmt((N * 1000) / tSubmitted)}  final-status/s=${fmt((N * 1000) / tFinal)}  (final after ${fmt(tFinal / 1000, 1)} s)`,
);
console.log(
  `  batch request latency (${BATCH}/request) p50=${fmt(percentile(acceptLat, 50), 1)}ms p99=${fmt(percentile(acceptLat, 99), 1)}ms`,
);
console.log(
  `  submit→receipt p50=${fmt(Number(lat.p50), 1)}ms p99=${fmt(Number(lat.p99), 1)}ms; accept→final p50=${fmt(Number(e2e.p50))}ms p99=${fmt(Number(e2e.p99))}ms`,
);
console.log(
  `  cpu s: gateway=${fmt(cpu1.gw - cpu0.gw, 2)} simulator=${fmt(cpu1.sim - cpu0.sim, 2)} postgres=${fmt(cpu1.pg - cpu0.pg, 2)} loader=${fmt((cpu1.me.user + cpu1.me.system) / 1e6, 2)}` +
    `  peak rss MB: gateway=${fmt(peakGwRss)} (heap used ${fmt(peakHeap)}, external ${fmt(peakExternal)}) simulator=${fmt(peakSimRss)} postgres(all)=${fmt(peakPgRss)}`,
);
const parleyFinalPerSec = (N * 1000) / tFinal;

// Open-loop single POSTs at a fixed offered rate: accept latency.
const rate = Number(values.offered);
const secs = Number(values['offered-seconds']);
const warmup = Math.min(2, secs) * rate;
const singles: number[] = [];
let errors = 0;
let tStart = performance.now();
const inflight: Promise<void>[] = [];
// The first two seconds warm up connections, prepared statements and the JIT; they are not counted.
for (let i = 0; i < warmup + rate * secs; i++) {
  if (i === warmup) {
    await Promise.all(inflight.splice(0));
    singles.length = 0;
    errors = 0;
    tStart = performance.now();
  }
  const due = tStart + ((i < warmup ? i : i - warmup) * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  const s = performance.now();
  inflight.push(
    postJson(`/v1/messages`, { to: `+1415${String(8000000 + i)}`, body: `single ${i}` }, key)
      .then((status) => {
        if (status !== 202) errors++;
        singles.push(performance.now() - s);
      })
      .catch(() => {
        errors++;
      }),
  );
}
await Promise.all(inflight);
const achieved = (singles.length * 1000) / (performance.now() - tStart);
singles.sort((a, b) => a - b);
const lagP99 = await metric('parley_nodejs_eventloop_lag_p99_seconds');
const lagMax = await metric('parley_nodejs_eventloop_lag_max_seconds');
const gcSum = await metric('parley_nodejs_gc_duration_seconds_sum');
console.log(
  `gateway event loop lag p99=${fmt(lagP99 * 1000, 1)}ms max=${fmt(lagMax * 1000, 1)}ms, GC total=${fmt(gcSum, 2)}s`,
);
console.log(
  `single POST at ${rate}/s offered for ${secs}s: achieved=${fmt(achieved)}/s errors=${errors} accept p50=${fmt(percentile(singles, 50), 1)}ms p99=${fmt(percentile(singles, 99), 1)}ms`,
);

gw.child.kill('SIGTERM');
await gw.exited;
if (process.env.BENCH_GATEWAY_LOG) writeFileSync(process.env.BENCH_GATEWAY_LOG, gw.lines.join('\n'));

if (values['vs-kannel']) {
  const peers = path.resolve('..', 'shared', 'peers', 'kannel', 'bench-e2e.sh');
  console.log(`kannel: ${peers} against the same simulator (window 100, N=${values['kannel-n']})`);
  const k = spawn('bash', [peers, String(values['kannel-n'])], {
    env: {
      ...process.env,
      SMSC: 'external',
      SMSC_PORT: String(smscPort),
      MAX_PENDING_SUBMITS: '100',
      RUNS: '3',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  k.stdout.on('data', (d) => {
    out += d;
    process.stdout.write(d);
  });
  await new Promise((r) => k.once('exit', r));
  const m = /median:.*dlr_per_s=(\d+)/.exec(out);
  if (m)
    console.log(
      `ratio: parley final-status/s ${fmt(parleyFinalPerSec)} / kannel DLR/s ${m[1]} = ${fmt(parleyFinalPerSec / Number(m[1]), 2)}x`,
    );
}

sim.child.kill('SIGTERM');
await sim.exited;
await db.end();
await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.end();
process.exit(0);
