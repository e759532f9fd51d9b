/**
 * `npm run bench:inbox`: MO-to-SSE latency of the live inbox. The simulator (its own process)
 * injects `--rate` MO/s for `--seconds` to one account's number; `--clients` SSE clients listen on
 * GET /v1/events, half on a second gateway instance (both bound to the simulator, sharing
 * PostgreSQL and Redis). Latency is from the moment the bench asks the simulator for the MO to
 * the moment a client has parsed its message.inbound event; lost = events a client never got.
 *
 *   npm run bench:inbox -- [--rate 200] [--seconds 60] [--clients 20] [--runs 1]
 *
 * Needs DATABASE_URL and REDIS_URL (for two instances; without Redis one instance serves all).
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createParser } from 'eventsource-parser';
import { Pool } from 'undici';
import {
  benchAccount,
  createDatabase,
  type GatewayProc,
  pgCpu,
  startGateway,
  startSim,
} from './lib/cluster.ts';
import { cpuSecondsOf, median, percentile } from './proc-stats.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '60' },
    clients: { type: 'string', default: '20' },
    runs: { type: 'string', default: '1' },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const CLIENTS = Number(values.clients);
const RUNS = Number(values.runs);
const dbBase = process.env.DATABASE_URL;
const redis = process.env.REDIS_URL;
if (!dbBase) {
  process.stderr.write('bench:inbox needs DATABASE_URL (PostgreSQL)\n');
  process.exit(2);
}

interface Client {
  instance: number;
  got: Map<number, number>;
  duplicates: number;
  close(): void;
}

async function connect(gw: GatewayProc, key: string, instance: number): Promise<Client> {
  const ac = new AbortController();
  const res = await fetch(`${gw.url}/v1/events`, {
    headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
    signal: ac.signal,
  });
  if (res.status !== 200 || !res.body) throw new Error(`GET /v1/events: ${res.status}`);
  const c: Client = { instance, got: new Map(), duplicates: 0, close: () => ac.abort() };
  let ready!: () => void;
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  const parser = createParser({
    onEvent: (m) => {
      if (m.event === 'ready') ready();
      if (m.event !== 'message.inbound') return;
      const n = Number(/^inbox bench (\d+)$/.exec((JSON.parse(m.data) as { body: string }).body)?.[1]);
      if (c.got.has(n)) c.duplicates++;
      else c.got.set(n, performance.now());
    },
  });
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
        parser.feed(decoder.decode(chunk, { stream: true }));
    } catch {
      // closed by the bench
    }
  })();
  await isReady;
  return c;
}

async function run(i: number): Promise<{ p50: number; p99: number; max: number; lost: number; dup: number }> {
  const sim = await startSim();
  const db = await createDatabase(dbBase!, `inbox_${i}`);
  const env: Record<string, string> = redis
    ? { REDIS_URL: redis, PARLEY_REDIS_PREFIX: `bench-inbox-${process.pid}-${i}:` }
    : {};
  const gws: GatewayProc[] = [];
  const clients: Client[] = [];
  try {
    gws.push(await startGateway(db.url, sim.port, { binds: 1, window: 50, env }));
    if (redis) gws.push(await startGateway(db.url, sim.port, { binds: 1, window: 50, env }));
    const key = await benchAccount(gws[0]!);
    const to = String(
      (
        (await (
          await fetch(`${gws[0]!.url}/v1/settings/sending`, { headers: { authorization: `Bearer ${key}` } })
        ).json()) as { defaultNumber: string }
      ).defaultNumber,
    );
    for (let k = 0; k < CLIENTS; k++) clients.push(await connect(gws[k % gws.length]!, key, k % gws.length));

    const control = new Pool(sim.control, { connections: 16 });
    const sentAt = new Map<number, number>();
    const total = RATE * SECONDS;
    const cpu0 = { gw: gws.map((g) => cpuSecondsOf(g.pid)), pg: pgCpu() };
    const t0 = performance.now();
    let next = 0;
    const inFlight: Promise<void>[] = [];
    // Paced by the clock (not by answers): every 10 ms, the MO due by now.
    while (next < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
      for (; next < due; next++) {
        const n = next;
        sentAt.set(n, performance.now());
        inFlight.push(
          control
            .request({
              path: '/mo',
              method: 'POST',
              body: JSON.stringify({
                from: `+1415${String(2_000_000 + (n % 5_000))}`,
                to,
                text: `inbox bench ${n}`,
              }),
            })
            .then((r) => r.body.dump()),
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(inFlight);
    // Everything is in: wait until each client has everything or 10 s passed without progress.
    let last = -1;
    let still = performance.now();
    for (;;) {
      const have = clients.reduce((s, c) => s + c.got.size, 0);
      if (have === total * clients.length) break;
      if (have !== last) {
        last = have;
        still = performance.now();
      } else if (performance.now() - still > 10_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = {
      gw: gws.map((g, k) => (cpuSecondsOf(g.pid) - cpu0.gw[k]!) / wall),
      pg: (pgCpu() - cpu0.pg) / wall,
    };
    await control.close();
    const lat: number[] = [];
    let lost = 0;
    let dup = 0;
    for (const c of clients) {
      dup += c.duplicates;
      for (let n = 0; n < total; n++) {
        const at = c.got.get(n);
        if (at === undefined) lost++;
        else lat.push(at - sentAt.get(n)!);
      }
    }
    lat.sort((a, b) => a - b);
    const r = {
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      max: lat.at(-1) ?? Number.NaN,
      lost,
      dup,
    };
    process.stdout.write(
      `run ${i + 1}: ${total} MO at ${RATE}/s to ${clients.length} SSE clients on ${gws.length} instance(s): ` +
        `MO→SSE p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(0)} ms; ` +
        `lost ${lost}, duplicates ${dup}; CPU gateways ${cpu.gw.map((x) => x.toFixed(2)).join('+')}, PostgreSQL ${cpu.pg.toFixed(2)} cores\n`,
    );
    return r;
  } finally {
    for (const c of clients) c.close();
    for (const g of gws) await g.stop();
    await sim.stop();
    await db.drop();
  }
}

execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
const results = [];
for (let i = 0; i < RUNS; i++) results.push(await run(i));
if (RUNS > 1)
  process.stdout.write(
    `median of ${RUNS}: p50 ${median(results.map((r) => r.p50)).toFixed(1)} ms, p99 ${median(results.map((r) => r.p99)).toFixed(1)} ms; lost ${results.reduce((s, r) => s + r.lost, 0)}\n`,
  );
const worst = Math.max(...results.map((r) => r.p99));
const lostAll = results.reduce((s, r) => s + r.lost, 0);
process.stdout.write(
  `target MO→SSE p99 ≤ 250 ms: ${worst <= 250 ? 'met' : 'NOT met'} (worst run ${worst.toFixed(1)} ms); lost events ${lostAll} (target 0)\n`,
);
process.exit(lostAll === 0 && worst <= 250 ? 0 : 1);
