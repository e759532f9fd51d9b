/**
 * Processes of one bench run: the simulator and the gateway (the esbuild bundle under plain node,
 * with `npm start`'s heap flags), their CPU and memory, and the gateway's API and metrics.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { Pool } from 'undici';
import { freshDatabase } from '../../test/helpers/child-gateway.ts';
import { type Child, runTs } from '../../test/helpers/processes.ts';
import { cpuSecondsOf, rssOf, schedSecondsOf } from '../proc-stats.ts';
import { metricSum } from './phases.ts';
import { RawHttpPool } from './raw-http.ts';
import { runningTotal } from './running-total.ts';

export const ADMIN = 'bench-admin-token-0123456789';

export function postgresPids(): number[] {
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

const safe = (f: () => number) => {
  try {
    return f();
  } catch {
    return 0;
  }
};
/** A running total over PostgreSQL's processes (see runningTotal). */
const pgTotal = (read: (pid: number) => number) => runningTotal(postgresPids, read);

/** CPU seconds PostgreSQL's processes have used (see pgTotal). */
export const pgCpu = pgTotal(cpuSecondsOf);
/** Seconds PostgreSQL's processes have waited runnable for a CPU (see pgTotal). */
export const pgRunQueueWait = pgTotal((pid) => schedSecondsOf(pid).wait);
export const pgRss = () => postgresPids().reduce((s, p) => s + safe(() => rssOf(p).rssMb), 0);

/**
 * PostgreSQL's count of database `db`'s transactions so far, read through `client`: one per
 * statement outside BEGIN, so the round trips. Backends report it at most once a second, so over a
 * 10-s window the figure is good to a few %. Throws when `db` does not exist.
 */
export async function pgTransactions(client: Pick<pg.ClientBase, 'query'>, db: string): Promise<number> {
  const r = await client.query<{ n: string }>(
    'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1',
    [db],
  );
  if (r.rows.length === 0) throw new Error(`pgTransactions: no database ${db}`);
  return Number(r.rows[0]!.n);
}

/** A database for a run: created now, dropped by `drop`. */
export const createDatabase = (base: string, tag: string) => freshDatabase(`bench_${tag}`, base);

export interface Sim {
  child: Child;
  port: number;
  /** The control API (POST /mo injects an MO). */
  control: string;
  stop(): Promise<void>;
}

export async function startSim(port = 0, extraArgs: string[] = []): Promise<Sim> {
  const child = runTs(
    'simulator/main.ts',
    ['--port', String(port), '--control-port', '0', '--seed', '1', ...extraArgs],
    {},
  );
  const ready = await child.waitLine((o) => o.msg === 'simulator ready', 20_000);
  return {
    child,
    port: Number(String(ready.smpp).split(':')[1]),
    control: String(ready.control),
    stop: async () => {
      child.child.kill('SIGTERM');
      await child.exited;
    },
  };
}

export interface GatewayProc {
  child: Child;
  url: string;
  pid: number;
  call(p: string, body: unknown, key: string, method?: string): Promise<any>;
  postStatus(p: string, body: unknown, key: string): Promise<number>;
  metric(name: string, label?: string): Promise<number>;
  /** The whole /metrics text. */
  scrape(): Promise<string>;
  /** GET /metrics on the dedicated listener (PARLEY_METRICS_PORT). */
  scrapeDedicated(): Promise<string>;
  stop(): Promise<void>;
}

/** The gateway as `npm start` runs it, on `dbUrl`, with one carrier at `smscPort`. */
export async function startGateway(
  dbUrl: string,
  smscPort: number,
  opts: { binds: number; window: number; env?: Record<string, string>; nodeArgs?: string[] },
): Promise<GatewayProc> {
  const cfgFile = path.join(
    os.tmpdir(),
    `parley-bench-${process.pid}-${smscPort}-${Math.random().toString(36).slice(2)}.json`,
  );
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
          windowSize: opts.window,
          binds: [{ mode: 'trx', count: opts.binds }],
          // Backlog mode starts the SMSC late: bind as soon as it is there.
          reconnect: { initialMs: 100, maxMs: 500, multiplier: 2 },
        },
      ],
    }),
  );
  const flags = /node (.*) dist\/main\.js/
    .exec(JSON.parse(readFileSync('package.json', 'utf8')).scripts.start as string)![1]!
    .split(' ');
  const child = runTs(
    'dist/main.js',
    [],
    {
      DATABASE_URL: dbUrl,
      PARLEY_CONFIG: cfgFile,
      PARLEY_ADMIN_TOKEN: ADMIN,
      // The figures must not depend on the hour of the run (recipients in US zones).
      PARLEY_QUIET_HOURS_DEFAULT: 'off',
      PARLEY_FOOTER_DEFAULT: 'off',
      // Numbers are unregistered in tests: the registration gate only where a test asks for it.
      PARLEY_REGISTRATION_GATE: 'off',
      PARLEY_RATE_LIMITS: 'off',
      PORT: '0',
      LOG_LEVEL: 'info',
      PARLEY_DB_POOL: '16',
      // The dedicated metrics listener (a worker thread) beside /metrics on the API port.
      PARLEY_METRICS_PORT: '0',
      ...opts.env,
      // An experiment's settings, e.g. BENCH_GATEWAY_ENV='{"PARLEY_DB_POOL":"32"}' (JSON).
      ...(JSON.parse(process.env.BENCH_GATEWAY_ENV ?? '{}') as Record<string, string>),
    },
    [
      ...flags,
      ...(opts.nodeArgs ?? []),
      ...(process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ],
  );
  const listening = await child.waitLine((o) => o.msg === 'parley listening', 60_000);
  const url = String(listening.address);
  const metricsUrl = String((await child.waitLine((o) => o.msg === 'metrics listening', 1_000)).address);
  // Keep-alive with a bounded pool, as an API client would. Our own minimal client by default
  // (bench/lib/raw-http.ts: the load generator shares the machine, and undici's Pool cost a
  // quarter of a core at 2,000/s); BENCH_CLIENT=undici for the library's.
  const connections = 64;
  const raw = process.env.BENCH_CLIENT === 'undici' ? undefined : new RawHttpPool(url, connections);
  const pool = raw ? undefined : new Pool(url, { connections, pipelining: 1 });
  const postStatus = async (p: string, body: unknown, key: string) => {
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    if (raw) return raw.post(p, headers, JSON.stringify(body));
    const res = await pool!.request({ path: p, method: 'POST', headers, body: JSON.stringify(body) });
    await res.body.dump();
    return res.statusCode;
  };
  return {
    child,
    url,
    pid: child.child.pid!,
    call: async (p, body, key, method = 'POST') =>
      (
        await fetch(`${url}${p}`, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json(),
    postStatus,
    scrape: async () => (await fetch(`${url}/metrics`)).text(),
    scrapeDedicated: async () => (await fetch(`${metricsUrl}/metrics`)).text(),
    metric: async (name, label = '') => metricSum(await (await fetch(`${url}/metrics`)).text(), name, label),
    stop: async () => {
      raw?.close();
      await pool?.close();
      child.child.kill('SIGTERM');
      await child.exited;
      // For a look at what the gateway printed (e.g. BENCH_GATEWAY_NODE_ARGS=--trace-gc).
      const logDir = process.env.BENCH_GATEWAY_LOG_DIR;
      if (logDir)
        writeFileSync(path.join(logDir, `gateway-${child.child.pid}.log`), `${child.lines.join('\n')}\n`);
    },
  };
}

/** An account with one number; returns its API key. */
export async function benchAccount(gw: GatewayProc): Promise<string> {
  const account = await gw.call('/v1/admin/accounts', { name: 'bench' }, ADMIN);
  await gw.call(
    '/v1/admin/numbers',
    {
      accountId: account.id,
      number: `+1555010${String(1000 + Math.floor(Math.random() * 8999))}`,
      type: 'local',
    },
    ADMIN,
  );
  return account.apiKey as string;
}
