/**
 * Fixtures of the plan tests (test/e2e/plan-*.test.ts): a loader of history and work in flight,
 * the hot statements captured from the real repositories, and a session that runs one of them as
 * the gateway does and reports its plan.
 */
import pg from 'pg';
import type { Db, Queryable } from '../../src/store/db.ts';
import { PLANNER_SETTINGS } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { databaseUrl } from './services.ts';

export const OWNER = 'plan-owner';
export const ACCOUNT = '11111111-1111-4111-8111-111111111111';
export const BIG = Number(process.env.PARLEY_PLAN_ROWS ?? 200_000);
// The loader needs 12,000 rows for its queued/sending/sent ranges.
export const SMALL = 15_000;
export const BATCH = 200;
export const BIG_TABLES = new Set([
  'messages',
  'segments',
  'segment_smsc_ids',
  'parked_receipts',
  'webhook_deliveries',
  'inbound_messages',
  'numbers',
  'mo_parts',
  'mo_groups',
  'contacts',
  'conversations',
  'users',
  'account_events',
  'links',
  'link_clicks',
  'number_stats',
]);

export interface Captured {
  name: string;
  sql: string;
  params: unknown[];
  /** The name the repository gave it: a prepared statement, planned once per connection (generic). */
  prepared?: string | undefined;
}

/** A Db that records statements instead of running them (the repositories build the real ones). */
export function capturing(
  out: Captured[],
  name: string,
  answer: (sql: string) => Record<string, unknown>[] = () => [],
): Db {
  const q: Queryable = {
    query: async <T>(sql: string, params: unknown[] = [], prepared?: string) => {
      out.push({ name: `${name}#${out.length}`, sql, params, prepared });
      const rows = answer(sql) as T[];
      return { rows, rowCount: rows.length };
    },
  };
  return {
    kind: 'postgres',
    ...q,
    tx: async (fn) => fn(q),
    session: async (fn) => fn(q),
    exec: async () => undefined,
    warm: async () => 0,
    close: async () => undefined,
  };
}

/** Time-ordered ids like the gateway's (UUIDv7 layout), row i. */
export const idSql = (expr: string) =>
  `(lpad(to_hex(${expr}), 12, '0') || '7000' || '8000' || lpad(to_hex(${expr}), 12, '0'))::uuid`;
export const idOf = (i: number) =>
  `${i
    .toString(16)
    .padStart(12, '0')
    .replace(/^(.{8})(.{4})$/, '$1-$2')}-7000-8000-${i.toString(16).padStart(12, '0')}`;

/**
 * Loads `n` messages of history starting at `from`: most delivered, then 5,000 sending (leased by
 * OWNER), 5,000 sent with SMSC ids, 2,000 queued (100 of them held for a rate-limit slot); a
 * parked receipt per 100 and callbacks.
 */
export async function load(c: pg.Client, from: number, n: number, hot = true): Promise<void> {
  const to = from + n - 1;
  // Without `hot`, history only: every message delivered (what ANALYZE saw in the stale state).
  const status = hot
    ? `CASE WHEN i > ${to} - 2000 THEN 'queued' WHEN i > ${to} - 7000 THEN 'sent' WHEN i > ${to} - 12000 THEN 'sending' ELSE 'delivered' END`
    : `'delivered'`;
  const rank = hot
    ? `CASE WHEN i > ${to} - 2000 THEN 0 WHEN i > ${to} - 7000 THEN 2 WHEN i > ${to} - 12000 THEN 1 ELSE 3 END`
    : '3';
  await c.query(`
    INSERT INTO messages (id, account_id, from_e164, to_e164, number_type, body, encoding, segments, status, status_rank,
                          status_callback, expires_at, created_at, updated_at)
    SELECT ${idSql('i')}, '${ACCOUNT}', '+15550100001', '+1415' || lpad((i % 10000000)::text, 7, '0'), 'local',
           'history ' || i, 'gsm7', 1, ${status}, ${rank}, CASE WHEN i % 10 = 0 THEN 'https://example.com/cb' END,
           now() + interval '1 day', now() - (${to} - i) * interval '1 millisecond', now()
    FROM generate_series(${from}, ${to}) i`);
  await c.query(`
    INSERT INTO segments (message_id, idx, parts, status, status_rank, from_e164, to_e164, number_type, payload, data_coding,
                          esm_class, next_attempt_at, expires_at, lease_owner, lease_until, carrier_id, smsc_id, submitted_at, profile,
                          reason)
    SELECT ${idSql('i')}, 0, 1, ${status}, ${rank}, '+15550100001', '+14155550123', 'local', '\\x6869', 0, 0,
           now() - (${to} - i) * interval '1 millisecond', now() + interval '1 day',
           CASE WHEN ${rank} = 1 THEN '${OWNER}' END, CASE WHEN ${rank} = 1 THEN now() + interval '1 hour' END,
           CASE WHEN ${rank} >= 2 THEN 'sim' END, CASE WHEN ${rank} >= 2 THEN to_hex(i) END,
           CASE WHEN ${rank} >= 2 THEN now() END, 'g0.u.r8.udh',
           -- One queued segment in 20 back from waiting for a rate-limit slot: claimed first.
           CASE WHEN ${rank} = 0 AND i % 20 = 0 THEN 'rate_limited' END
    FROM generate_series(${from}, ${to}) i`);
  await c.query(`
    INSERT INTO segment_smsc_ids (carrier_id, id_key, message_id, idx)
    SELECT 'sim', 'n:' || i, ${idSql('i')}, 0 FROM generate_series(${from}, ${to}) i WHERE i <= ${to} - 2000 AND (i <= ${to} - 12000 OR i > ${to} - 7000)`);
  await c.query(`
    INSERT INTO parked_receipts (receipt_id, rank, carrier_id, id_key, smsc_id, status, parked_at, expires_at, unmatched_at)
    SELECT ${idSql('i')}, 0, 'sim', 'n:p' || i, 'p' || i, 'delivered',
           CASE WHEN i > ${to} - 10000 THEN now() ELSE now() - interval '1 hour' END,
           now() + interval '1 hour', CASE WHEN i % 200 = 0 THEN now() END
    FROM generate_series(${from}, ${to}, 100) i`);
  await c.query(`
    INSERT INTO webhook_deliveries (message_id, account_id, url, seq, body, delivered_at)
    SELECT ${idSql('i')}, '${ACCOUNT}', 'https://example.com/cb', 1, '{}', now() FROM generate_series(${from}, ${to}, 10) i`);
  await c.query(`
    INSERT INTO inbound_messages (id, account_id, from_e164, to_e164, body, segments, complete, carrier_id, handled_at)
    SELECT ${idSql('i')}, '${ACCOUNT}', '+14155550123', '+15550100001', 'mo ' || i, 1, true, 'sim', now() FROM generate_series(${from}, ${to}, 10) i`);
  // A tracked link per 10 messages; per-number hourly rollups: 1,000 numbers, two metrics.
  await c.query(`
    INSERT INTO links (code, message_id, account_id, from_e164, url, clicks)
    SELECT 'L' || lpad(i::text, 9, '0'), ${idSql('i')}, '${ACCOUNT}', '+15550100001', 'https://example.com/' || i, i % 3
    FROM generate_series(${from}, ${to}, 10) i`);
  await c.query(`
    INSERT INTO link_clicks (code, message_id, at, agent)
    SELECT 'L' || lpad(i::text, 9, '0'), ${idSql('i')}, now(), 'mobile' FROM generate_series(${from}, ${to}, 30) i`);
  await c.query(`
    INSERT INTO number_stats (account_id, from_e164, bucket, metric, n)
    SELECT '${ACCOUNT}', '+1555' || lpad((i % 1000)::text, 7, '0'),
           date_trunc('hour', now()) - (i / 1000) * interval '1 hour', m, i
    FROM generate_series(${from}, ${to}) i, unnest(ARRAY['sent', 'delivered']) m`);
  // One contact per 5 messages, one in 50 of them opted out.
  await c.query(`
    INSERT INTO contacts (id, account_id, e164, dnd)
    SELECT ${idSql('i')}, '${ACCOUNT}', '+1415' || lpad((i % 10000000)::text, 7, '0'), i % 250 = 0
    FROM generate_series(${from}, ${to}, 5) i`);
}

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Join Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

export function walk(n: PlanNode, f: (n: PlanNode) => void): void {
  f(n);
  for (const c of n.Plans ?? []) walk(c, f);
}

/**
 * A session with the gateway's planner settings. auto_explain reports the plan of every statement
 * the session runs (as a notice), so that a named statement is explained as the gateway runs it: a
 * prepared statement whose generic plan was made at its first execution on the connection.
 */
export async function session(schema: string): Promise<pg.Client & { plans: string[] }> {
  const c = new pg.Client({
    connectionString: await databaseUrl(),
    options: [
      ...Object.entries(PLANNER_SETTINGS).map(([k, v]) => `-c ${k}=${v}`),
      `-c search_path=${schema},public`,
    ].join(' '),
  }) as pg.Client & { plans: string[] };
  await c.connect();
  c.plans = [];
  c.on('notice', (n) => {
    if (n.message?.startsWith('duration:')) c.plans.push(n.message);
  });
  await c.query(`LOAD 'auto_explain'`);
  await c.query(
    `SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_buffers = on;
     SET auto_explain.log_timing = off; SET auto_explain.log_format = json`,
  );
  return c;
}

/**
 * Runs one statement in a rolled-back transaction, as the gateway does (prepared when the
 * repository names it), and answers its plan with what it touched (auto_explain: ANALYZE, BUFFERS).
 */
export async function explain(
  c: pg.Client & { plans: string[] },
  s: Captured,
): Promise<{ plan: PlanNode; buffers: number; work: number }> {
  await c.query('BEGIN');
  try {
    await c.query('SET LOCAL client_min_messages = log');
    c.plans.length = 0;
    await c.query(
      s.prepared ? { name: s.prepared, text: s.sql, values: s.params } : { text: s.sql, values: s.params },
    );
  } finally {
    // A SELECT's portal ends (and auto_explain reports it) only when the transaction does.
    await c.query('ROLLBACK');
  }
  const note = c.plans.at(-1);
  if (!note) throw new Error(`${s.name}: no plan reported`);
  const plan = (JSON.parse(note.slice(note.indexOf('{'))) as { Plan: PlanNode }).Plan;
  let buffers = 0;
  // Rows the executor went through: read from a big table, or thrown away by a filter or a
  // join filter. A plan that scans what is in flight, or rescans the batch per table row, shows
  // here even when every page is in memory.
  let work = 0;
  walk(plan, (n) => {
    const loops = n['Actual Loops'] ?? 1;
    if (n['Node Type'].includes('Scan'))
      buffers += (n['Shared Hit Blocks'] ?? 0) + (n['Shared Read Blocks'] ?? 0);
    if (n['Relation Name'] && BIG_TABLES.has(n['Relation Name']) && n['Node Type'].includes('Scan'))
      work += (n['Actual Rows'] ?? 0) * loops;
    work += ((n['Rows Removed by Filter'] ?? 0) + (n['Rows Removed by Index Recheck'] ?? 0)) * loops;
    work += n['Rows Removed by Join Filter'] ?? 0;
  });
  return { plan, buffers, work };
}

/** A new schema with the gateway's tables, one account and its number; a session on it. */
export async function migratedSchema(
  admin: pg.Client,
  schema: string,
): Promise<pg.Client & { plans: string[] }> {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  const c = await session(schema);
  await migrate(
    {
      kind: 'postgres',
      query: (sql, p) => c.query(sql, p).then((r) => ({ rows: r.rows, rowCount: r.rowCount ?? 0 })),
      tx: async (fn) => fn(null as never),
      exec: async (sql) => void (await c.query(sql)),
      close: async () => undefined,
    } as Db,
    schema,
  );
  await c.query(`INSERT INTO accounts (id, name, webhook_secret) VALUES ('${ACCOUNT}', 'plan', 's')`);
  await c.query(
    `INSERT INTO numbers (id, account_id, e164, type) VALUES (gen_random_uuid(), '${ACCOUNT}', '+15550100001', 'local')`,
  );
  // The brands whose daily caps a batch takes (half of them already counted today).
  await c.query(
    `INSERT INTO brands (id, account_id, details, status)
     SELECT ${idSql('i')}, '${ACCOUNT}', '{}', 'approved' FROM generate_series(1, 50) i`,
  );
  await c.query(
    `INSERT INTO brand_daily_usage (brand_id, day, segments)
     SELECT ${idSql('i')}, '2026-12-04', 100 FROM generate_series(1, 25) i`,
  );
  return c;
}
