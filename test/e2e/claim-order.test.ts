/**
 * The claim's order: segments back from waiting for a rate-limit slot come before the rest of the
 * due queue, each due segment is claimed once however many claims run at a time, and the rest
 * is still taken oldest first. On PostgreSQL and on the embedded PGlite (`npm start`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../src/store/db.ts';
import { DispatchRepo } from '../../src/store/dispatch-repo.ts';
import { migrate } from '../../src/store/migrate.ts';
import { databaseUrl, dropSchema, uniqueSchema } from '../helpers/services.ts';

const ACCOUNT = '11111111-1111-4111-8111-111111111111';
const dirs: string[] = [];
const dbs: Db[] = [];
const schemas: string[] = [];
afterAll(async () => {
  for (const db of dbs) await db.close();
  for (const s of schemas) await dropSchema(s);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function database(kind: 'postgres' | 'pglite'): Promise<Db> {
  let db: Db;
  if (kind === 'postgres') {
    const schema = uniqueSchema(import.meta.filename);
    schemas.push(schema);
    db = await openDb({ url: await databaseUrl(), dataDir: '', schema, poolSize: 4 });
    await migrate(db, schema);
  } else {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-claim-'));
    dirs.push(dir);
    db = await openDb({ url: undefined, dataDir: dir });
    await migrate(db);
  }
  dbs.push(db);
  await db.query(`INSERT INTO accounts (id, name, webhook_secret) VALUES ('${ACCOUNT}', 'claim', 's')`);
  return db;
}

const idOf = (i: number) => `00000000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`;

/**
 * Queued single-segment messages `from..to`, due `dueMsAgo` ago (negative: not yet due),
 * with `reason`.
 */
async function queue(
  db: Db,
  from: number,
  to: number,
  dueMsAgo: number,
  reason: string | null,
): Promise<void> {
  await db.query(`
    INSERT INTO messages (id, account_id, from_e164, to_e164, number_type, body, encoding, segments, status, status_rank,
                          expires_at, created_at, updated_at)
    SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, '${ACCOUNT}', '+15550100001',
           '+1415555' || lpad(i::text, 4, '0'), 'local', 'm' || i, 'gsm7', 1, 'queued', 0,
           now() + interval '1 day', now(), now()
    FROM generate_series(${from}, ${to}) i`);
  await db.query(
    `
    INSERT INTO segments (message_id, idx, parts, status, status_rank, from_e164, to_e164, number_type, payload, data_coding,
                          esm_class, next_attempt_at, expires_at, profile, reason)
    SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 0, 1, 'queued', 0, '+15550100001',
           '+1415555' || lpad(i::text, 4, '0'), 'local', '\\x6869', 0, 0,
           now() - ($1::int - i) * interval '1 millisecond' - $2::int * interval '1 millisecond',
           now() + interval '1 day', 'g0.u.r8.udh', $3::text
    FROM generate_series(${from}, ${to}) i`,
    [to, dueMsAgo, reason],
  );
}

describe.each(['postgres', 'pglite'] as const)('the claim on %s', (kind) => {
  // Regression (issue 8, bench:limits): a segment held for a rate-limit slot comes back 220 ms
  // before its slot; claimed in due order behind a bulk load's first claims (all older), it
  // missed its slot: 333 of 348 missed slots of the slow limits fell in the first 10 s.
  it('takes segments back for a rate-limit slot before older first claims, then the rest oldest first', async () => {
    const db = await database(kind);
    await queue(db, 1, 300, 10_000, null); // a bulk load, due for 10 s
    await queue(db, 1001, 1040, 5, 'rate_limited'); // back for their slots just now
    await queue(db, 2001, 2010, -60_000, 'rate_limited'); // slots a minute ahead: not yet
    await queue(db, 3001, 3005, 20_000, 'quiet_hours'); // other deferrals keep their place in line
    const repo = new DispatchRepo(db, 'gw-a');
    const claimed = (await repo.claim(100, 60_000)).segments;
    const first = claimed.map((s) => s.messageId);
    expect(first).toHaveLength(100);
    const held = Array.from({ length: 40 }, (_, k) => idOf(1001 + k));
    expect(first.filter((id) => held.includes(id)).sort()).toEqual(held.sort());
    // The limits policy tells a segment back for its slot from one claimed for the first time.
    for (const s of claimed) expect(s.heldForSlot).toBe(held.includes(s.messageId));
    // The remaining 60: the oldest of the rest (the quiet-hours five, then the bulk load's first 55).
    const rest = [
      ...Array.from({ length: 5 }, (_, k) => idOf(3001 + k)),
      ...Array.from({ length: 55 }, (_, k) => idOf(1 + k)),
    ];
    expect(first.filter((id) => !held.includes(id)).sort()).toEqual(rest.sort());
    const second = (await repo.claim(1_000, 60_000)).segments.map((s) => s.messageId);
    expect(second).toHaveLength(245);
    expect(second.some((id) => id >= idOf(2001) && id <= idOf(2010))).toBe(false);
    const r = await db.query<{ n: string }>("SELECT count(*) AS n FROM messages WHERE status = 'sending'");
    expect(Number(r.rows[0]!.n)).toBe(345);
  });

  it('a batch smaller than the held segments takes only held ones, the oldest first', async () => {
    const db = await database(kind);
    await queue(db, 1, 50, 10_000, null);
    await queue(db, 101, 130, 5, 'rate_limited');
    const got = (await new DispatchRepo(db, 'gw-a').claim(10, 60_000)).segments.map((s) => s.messageId);
    expect(got.sort()).toEqual(Array.from({ length: 10 }, (_, k) => idOf(101 + k)));
  });
});

describe('claims on PostgreSQL', () => {
  it('claims running at once take every due segment exactly once', async () => {
    const db = await database('postgres');
    await queue(db, 1, 2_000, 10_000, null);
    await queue(db, 5001, 5400, 5, 'rate_limited');
    const repos = Array.from({ length: 4 }, (_, k) => new DispatchRepo(db, `gw-${k}`));
    const seen: string[] = [];
    for (;;) {
      const got = await Promise.all(repos.map((r) => r.claim(150, 60_000)));
      const ids = got.flatMap((g) => g.segments.map((s) => s.messageId));
      if (ids.length === 0) break;
      seen.push(...ids);
    }
    expect(seen).toHaveLength(2_400);
    expect(new Set(seen).size).toBe(2_400);
  });
});

describe.each(['postgres', 'pglite'] as const)('a deferral to a set time on %s', (kind) => {
  // Regression (issue 8, e2e rate-limits flake): the delay was counted by the gateway after BEGIN
  // and added to the transaction's now(), so the segment came due early by the time between
  // the two: a daily-cap deferral to Pacific midnight came due at 23:59:59.999.
  it('is never due before its time, however long after BEGIN the statement runs', async () => {
    const db = await database(kind);
    await queue(db, 1, 50, 10, null);
    const repo = new DispatchRepo(db, 'gw-a');
    const claimed = (await repo.claim(50, 60_000)).segments;
    expect(claimed).toHaveLength(50);
    // A statement that runs 30 ms after its transaction began or its connection came (a busy event loop).
    const slow: Db = {
      ...db,
      kind: db.kind,
      query: db.query.bind(db),
      tx: (fn) =>
        db.tx(async (q) => {
          await new Promise((r) => setTimeout(r, 30));
          return fn(q);
        }),
      // The same wait where the write takes a connection without a transaction.
      session: (fn) =>
        db.session(async (q) => {
          await new Promise((r) => setTimeout(r, 30));
          return fn(q);
        }),
    } as Db;
    const dueAt = Date.now() + 5_000;
    await new DispatchRepo(slow, 'gw-a').applyOutcomes(
      claimed.map((s) => ({
        messageId: s.messageId,
        idx: s.idx,
        status: 'queued' as const,
        reason: 'daily_cap_reached' as const,
        delayMs: 5_000,
        dueAt,
        possibleDuplicate: false,
        deferred: true,
      })),
    );
    const r = await db.query<{ early: string; n: string }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE next_attempt_at < to_timestamp($1::float8 / 1000)) AS early
       FROM segments WHERE status = 'queued' AND reason = 'daily_cap_reached'`,
      [dueAt],
    );
    expect(Number(r.rows[0]!.n)).toBe(50);
    expect(Number(r.rows[0]!.early)).toBe(0);
  });
});

describe('the claim on an aged PostgreSQL table', () => {
  /** Buffers the claim of `batch` touches and its execution time, measured and rolled back. */
  async function claimCost(db: Db, batch: number): Promise<{ buffers: number; ms: number }> {
    const { CLAIM_SQL } = await import('../../src/store/dispatch-sql.ts');
    let out = { buffers: 0, ms: 0 };
    await db
      .tx(async (q) => {
        const r = await q.query<{
          'QUERY PLAN': Array<{ Plan: Record<string, number>; 'Execution Time': number }>;
        }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${CLAIM_SQL}`, ['aged#1', batch, 60_000]);
        const p = r.rows[0]!['QUERY PLAN'][0]!;
        out = {
          buffers: p.Plan['Shared Hit Blocks']! + p.Plan['Shared Read Blocks']!,
          ms: p['Execution Time'],
        };
        throw new Error('rollback');
      })
      .catch((err: Error) => {
        if (err.message !== 'rollback') throw err;
      });
    return out;
  }

  // Autovacuum may be off (it is on this project's machines): every segment that went through the
  // held state and on leaves dead entries in the claim's indexes. A claim that visited them on
  // every call would slow down with the table's age; it costs what a claim on a fresh table does.
  it('costs what it costs on a fresh table after 30,000 held segments went through, never vacuumed', async () => {
    const db = await database('postgres');
    await queue(db, 1, 40_000, -3_600_000, null); // waiting, not due
    const dueNow = (n: number, reason: string | null) =>
      db.query(
        `UPDATE segments SET next_attempt_at = now() - interval '1 second', reason = $2::text
         WHERE message_id IN (SELECT message_id FROM segments WHERE status = 'queued' AND next_attempt_at > now()
                              ORDER BY next_attempt_at LIMIT $1)`,
        [n, reason],
      );
    await db.query('ANALYZE segments');
    await dueNow(200, 'rate_limited');
    await dueNow(200, null);
    const fresh = await claimCost(db, 300);
    const repo = new DispatchRepo(db, 'gw-aged');
    for (let round = 0; round < 30; round++) {
      await dueNow(1_000, 'rate_limited');
      let left = 1_000;
      while (left > 0) {
        const got = (await repo.claim(250, 60_000)).segments;
        if (got.length === 0) break;
        left -= got.length;
        await repo.applyOutcomes(
          got.map((s, i) => ({
            messageId: s.messageId,
            idx: s.idx,
            status: 'sent' as const,
            carrierId: 'sim',
            smscId: `${round}-${i}`,
            idKey: `n:${round}-${i}`,
          })),
        );
      }
    }
    const dead = await db.query<{ n: string }>(
      `SELECT n_dead_tup AS n FROM pg_stat_user_tables WHERE relname = 'segments' AND schemaname = current_schema()`,
    );
    expect(Number(dead.rows[0]!.n)).toBeGreaterThan(30_000);
    await dueNow(200, 'rate_limited');
    await dueNow(200, null);
    // Dead entries are skipped only once no snapshot anywhere in the cluster can see their rows:
    // a transaction held open by another test file (or a bench) beside this one made the claim
    // visit them (9,833 buffers against a bound of 8,802, reproduced with a REPEATABLE READ
    // transaction held in another database). Measured again until that passes, for up to 30 s; a
    // claim that visited them on every call stays above the bound whatever the cluster does.
    const bound = 1.5 * fresh.buffers + 300;
    const deadline = Date.now() + 30_000;
    let aged = await claimCost(db, 300);
    while (aged.buffers > bound && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      aged = await claimCost(db, 300);
    }
    console.log(
      `claim of 300 (200 held, 200 plain due): fresh ${JSON.stringify(fresh)}, aged ${JSON.stringify(aged)}, dead ${dead.rows[0]!.n}`,
    );
    expect(aged.buffers, `fresh ${JSON.stringify(fresh)} aged ${JSON.stringify(aged)}`).toBeLessThanOrEqual(
      bound,
    );
  }, 150_000);
});
