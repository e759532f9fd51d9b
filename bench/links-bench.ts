/**
 * npm run bench:links [-- --seconds 10 --runs 3 --links 2000 --connections 128 --bots 0.2]
 *
 * The short-link redirector as `npm start` runs it, against PostgreSQL (DATABASE_URL): sends
 * `--links` messages with a tracked link each, then follows random short links from
 * `--connections` keep-alive connections for `--seconds` (a share `--bots` with a crawler's
 * User-Agent). Per run: redirects/s, latency p50/p99, and whether every counted click reached
 * the database (clicks in `links` = human redirects). Then the medians over the runs.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import { benchAccount, createDatabase, startGateway, startSim } from './lib/cluster.ts';
import { cpuSecondsOf, median, percentile } from './proc-stats.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    links: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '128' },
    bots: { type: 'string', default: '0.2' },
  },
});
const seconds = Number(values.seconds);
const runs = Number(values.runs);
const nLinks = Number(values.links);
const connections = Number(values.connections);
const botShare = Number(values.bots);
const base = process.env.DATABASE_URL;
if (!base) throw new Error('DATABASE_URL is required (PostgreSQL)');

const HUMAN = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';
const BOT = 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)';

execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });

async function run(i: number) {
  const database = await createDatabase(base!, `links_${i}`);
  const dbUrl = database.url;
  const sim = await startSim();
  const gw = await startGateway(dbUrl, sim.port, { binds: 1, window: 100 });
  const key = await benchAccount(gw);
  for (let k = 0; k < nLinks; k += 1000)
    await gw.call(
      '/v1/messages/batch',
      {
        messages: Array.from({ length: Math.min(1000, nLinks - k) }, (_, j) => ({
          to: `+1415${String(5_000_000 + k + j).padStart(7, '0')}`,
          body: `Your order ${k + j}: https://shop.example.com/orders/${k + j}?ref=sms`,
          trackLinks: true,
        })),
      },
      key,
    );
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  const codes = (await db.query<{ code: string }>('SELECT code FROM links')).rows.map((r) => r.code);
  if (codes.length !== nLinks) throw new Error(`expected ${nLinks} links, found ${codes.length}`);

  const pool = new Pool(gw.url, { connections, pipelining: 1 });
  const lat: number[] = [];
  let ok = 0;
  let bad = 0;
  let humans = 0;
  const cpu0 = cpuSecondsOf(gw.pid);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const bot = Math.random() < botShare;
        const code = codes[Math.floor(Math.random() * codes.length)]!;
        const s = performance.now();
        const res = await pool.request({
          path: `/l/${code}`,
          method: 'GET',
          headers: { 'user-agent': bot ? BOT : HUMAN },
        });
        await res.body.dump();
        lat.push(performance.now() - s);
        if (res.statusCode === 302) {
          ok++;
          if (!bot) humans++;
        } else bad++;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuSecondsOf(gw.pid) - cpu0;
  await pool.close();
  // Clicks are committed before the redirect is answered: the count must already be complete.
  const counted = Number((await db.query<{ n: string }>('SELECT sum(clicks) AS n FROM links')).rows[0]!.n);
  const rows = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM link_clicks')).rows[0]!.n);
  await db.end();
  await gw.stop();
  await sim.stop();
  await database.drop();
  lat.sort((a, b) => a - b);
  const r = {
    perSecond: ok / elapsed,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    errors: bad,
    humans,
    counted,
    rows,
    gatewayCpu: cpu / elapsed,
  };
  console.log(
    `run ${i + 1}: ${r.perSecond.toFixed(0)} redirects/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ` +
      `non-302 ${bad}, human redirects ${humans}, clicks counted ${counted} (rows ${rows}), gateway CPU ${(r.gatewayCpu * 100).toFixed(0)} %`,
  );
  return r;
}

const results = [];
for (let i = 0; i < runs; i++) results.push(await run(i));
console.log(
  `median of ${runs}: ${median(results.map((r) => r.perSecond)).toFixed(0)} redirects/s, ` +
    `p50 ${median(results.map((r) => r.p50)).toFixed(1)} ms, p99 ${median(results.map((r) => r.p99)).toFixed(1)} ms; ` +
    `every human click counted: ${results.every((r) => r.counted === r.humans && r.rows === r.humans)}`,
);
process.exit(0);
