/**
 * The hot statements' plans must not depend on the planner's luck: on a small analyzed database,
 * a large one whose statistics are stale (analyzed small, then loaded), and a large one never
 * analyzed, each statement — captured from the real repositories with a batch of 200 — must be
 * driven by its batch and probe keys: no sequential or bitmap scan of a big table, no hash or
 * merge join, and no more buffers touched on the large databases than the batch explains
 * (ANALYZE BUFFERS inside a rolled-back transaction) and no more rows visited (read from a big
 * table or thrown away by a filter) — the measure that shows a plan scanning what is in flight
 * even when every page is cached. The sessions use the gateway's own planner settings (db.ts) and
 * run each statement as the gateway does: a statement the repository names is a prepared
 * statement with a generic plan, made at its first execution on the connection and kept. So one
 * more database has its plans made while every table was empty (a new gateway on a new database)
 * and run after the tables were loaded, never analyzed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DispatchRepo } from '../../src/store/dispatch-repo.ts';
import {
  ACCOUNT,
  BATCH,
  BIG,
  BIG_TABLES,
  type Captured,
  capturing,
  explain,
  idOf,
  idSql,
  load,
  migratedSchema,
  OWNER,
  SMALL,
  session,
  walk,
} from '../helpers/plan-fixtures.ts';
import { hotStatements } from '../helpers/plan-statements.ts';
import { databaseUrl } from '../helpers/services.ts';

const schemas = {
  small: `t_plan_small_${process.pid}`,
  stale: `t_plan_stale_${process.pid}`,
  never: `t_plan_never_${process.pid}`,
  fresh: `t_plan_fresh_${process.pid}`,
  cached: `t_plan_cached_${process.pid}`,
};
let admin: pg.Client;
// Holds the generic plans made on the empty `cached` schema until the test runs them.
let cachedSession: Awaited<ReturnType<typeof session>>;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: await databaseUrl() });
  await admin.connect();
  const prepare = async (
    schema: string,
    before: number,
    analyzeAfter: number | undefined,
    hotBefore = true,
  ) => {
    const c = await migratedSchema(admin, schema);
    await load(c, 1, before, hotBefore);
    if (analyzeAfter !== undefined) await c.query('ANALYZE');
    if (analyzeAfter) await load(c, before + 1, analyzeAfter);
    await c.end();
  };
  await prepare(schemas.small, SMALL, 0);
  // Stale: analyzed while small and idle — nothing queued, leased or sent, so the partial indexes
  // look empty — then loaded with history and 5,000 segments in flight.
  await prepare(schemas.stale, SMALL, BIG, false);
  // Never analyzed at all.
  await prepare(schemas.never, SMALL + BIG, undefined);
  // A new gateway on a new database: every named statement planned while the tables were empty,
  // then the tables loaded (nothing analyzed); the plans stay cached on that connection.
  cachedSession = await migratedSchema(admin, schemas.cached);
  for (const s of await hotStatements(SMALL + BIG)) if (s.prepared) await explain(cachedSession, s);
  const loader = await session(schemas.cached);
  await load(loader, 1, SMALL + BIG);
  await loader.end();
}, 600_000);

afterAll(async () => {
  await cachedSession?.end();
  for (const s of Object.values(schemas)) await admin?.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await admin?.end();
});

describe('hot statements are plan-stable', () => {
  it('on small, stale and never-analyzed databases, and with plans made on empty tables', async () => {
    const report: string[] = [];
    const small = await session(schemas.small);
    const results = new Map<string, { small: number; large: number[]; work: number; largeWork: number[] }>();
    for (const s of await hotStatements(SMALL)) {
      const e = await explain(small, s);
      results.set(s.name, { small: e.buffers, large: [], work: e.work, largeWork: [] });
    }
    await small.end();
    for (const schema of [schemas.stale, schemas.never, schemas.cached]) {
      const c = schema === schemas.cached ? cachedSession : await session(schema);
      for (const s of await hotStatements(SMALL + BIG)) {
        const { plan, buffers, work } = await explain(c, s);
        if (process.env.PARLEY_PLAN_DEBUG && s.name.startsWith(process.env.PARLEY_PLAN_DEBUG))
          console.log(
            schema,
            JSON.stringify(plan, (k, v) =>
              /Blocks|Time|Width|Rows Removed|Workers|I\/O|Output|Startup|Parallel|Async|Actual Loops|Plan Rows/.test(
                k,
              )
                ? undefined
                : v,
            ),
          );
        walk(plan, (n) => {
          const rel = n['Relation Name'];
          expect(n['Node Type'], `${s.name} on ${schema}: ${JSON.stringify(n).slice(0, 300)}`).not.toMatch(
            /^(Hash Join|Merge Join|Hash)$/,
          );
          if (rel && BIG_TABLES.has(rel))
            expect(n['Node Type'], `${s.name}: ${n['Node Type']} on ${rel} (${schema})`).not.toMatch(
              /Seq Scan|Bitmap/,
            );
        });
        results.get(s.name)!.large.push(buffers);
        results.get(s.name)!.largeWork.push(work);
      }
      // What ran is what the gateway runs: every prepared statement on its generic plan.
      const prepared = await c.query<{ name: string; generic_plans: string; custom_plans: string }>(
        'SELECT name, generic_plans, custom_plans FROM pg_prepared_statements',
      );
      expect(prepared.rows.length).toBeGreaterThan(30);
      for (const p of prepared.rows) expect([p.name, Number(p.custom_plans)]).toEqual([p.name, 0]);
      if (c !== cachedSession) await c.end();
    }
    for (const [name, r] of results) {
      report.push(
        `${name}: buffers small=${r.small} stale=${r.large[0]} never-analyzed=${r.large[1]} planned-empty=${r.large[2]}; rows visited small=${r.work} stale=${r.largeWork[0]} never-analyzed=${r.largeWork[1]} planned-empty=${r.largeWork[2]}`,
      );
      for (const w of r.largeWork)
        expect(
          w,
          `${name}: visits ${w} rows on the large database vs ${r.work} on the small one`,
        ).toBeLessThanOrEqual(Math.max(3 * r.work, r.work + 10 * BATCH));
      // A plan whose cost grows with the table touches the big tables' pages; a key probe per
      // batch row touches a few (one more b-tree level at most). 200 rows, 100× the data.
      for (const b of r.large)
        expect(
          b,
          `${name}: ${b} buffers on the large database vs ${r.small} on the small one`,
        ).toBeLessThanOrEqual(Math.max(3 * r.small, r.small + 8 * BATCH));
    }
    console.log(`plans:\n${report.join('\n')}`);
  }, 300_000);

  // A named statement keeps the plan made at its first execution on a connection, whatever the
  // tables hold later: each one the store names must be among those checked above.
  it('every prepared statement of the store is checked', async () => {
    const named = new Set<string>();
    for (const f of readdirSync('src/store'))
      for (const m of readFileSync(`src/store/${f}`, 'utf8').matchAll(/'(parley_[a-z_]+)'/g))
        named.add(m[1]!);
    const checked = new Set((await hotStatements(SMALL + BIG)).map((s) => s.prepared));
    expect([...named].filter((n) => !checked.has(n))).toEqual([]);
  });

  // Found in `npm run bench` (auto_explain): on a new, never-analyzed database holding little but
  // what is in flight, the outcome UPDATE scanned every leased segment and rescanned the batch per
  // segment (1,600 leased × 550 outcomes: 0.66–0.98 s per statement). Its filters on the segment
  // alone (leased, by this instance) made the planner expect one leased row.
  it('a new gateway: outcomes probe their segments, whatever is in flight', async () => {
    const c = await migratedSchema(admin, schemas.fresh);
    const leased = 1_600;
    const batch = 550;
    await c.query(`
      INSERT INTO messages (id, account_id, from_e164, to_e164, number_type, body, encoding, segments, status, status_rank,
                            expires_at, created_at, updated_at)
      SELECT ${idSql('i')}, '${ACCOUNT}', '+15550100001', '+1415' || lpad(i::text, 7, '0'), 'local', 'new ' || i, 'gsm7', 1,
             CASE WHEN i <= ${leased} THEN 'sending' ELSE 'queued' END, CASE WHEN i <= ${leased} THEN 1 ELSE 0 END,
             now() + interval '1 day', now(), now()
      FROM generate_series(1, 2000) i`);
    await c.query(`
      INSERT INTO segments (message_id, idx, parts, status, status_rank, from_e164, to_e164, number_type, payload, data_coding,
                            esm_class, next_attempt_at, expires_at, lease_owner, lease_until, profile)
      SELECT ${idSql('i')}, 0, 1, CASE WHEN i <= ${leased} THEN 'sending' ELSE 'queued' END,
             CASE WHEN i <= ${leased} THEN 1 ELSE 0 END, '+15550100001', '+14155550123', 'local', '\\x6869', 0, 0,
             now(), now() + interval '1 day', CASE WHEN i <= ${leased} THEN '${OWNER}#1' END,
             CASE WHEN i <= ${leased} THEN now() + interval '1 hour' END, 'g0.u.r8.udh'
      FROM generate_series(1, 2000) i`);
    const out: Captured[] = [];
    await new DispatchRepo(capturing(out, 'outcomes'), OWNER).applyOutcomes(
      Array.from({ length: batch }, (_, k) => ({
        messageId: idOf(leased - k),
        idx: 0,
        status: 'sent' as const,
        carrierId: 'sim',
        smscId: String(leased - k),
        idKey: `n:${leased - k}`,
      })),
    );
    const s = out.find((x) => /UPDATE segments/.test(x.sql))!;
    const { plan, work } = await explain(c, s);
    let updated = 0;
    walk(plan, (n) => {
      if (n['Node Type'] === 'ModifyTable' && n['Relation Name'] === 'segments')
        updated = n['Actual Rows'] ?? 0;
    });
    await c.end();
    expect(updated).toBe(batch);
    // Every outcome lands; the rows gone through follow the batch (a probe each for the segment,
    // its message, the SMSC id and parked receipts, and one pass over the updated rows for
    // multi-part messages), not the 1,600 in flight times the batch.
    expect(work, `rows visited: ${work}`).toBeLessThanOrEqual(5 * batch);
  }, 120_000);
});
