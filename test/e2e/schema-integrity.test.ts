/**
 * Migration 018 moved the integrity of the hot tables from per-row foreign-key checks on insert
 * to the rare side: an account with messages or contacts cannot be deleted, deleting a message
 * deletes its segments, and the accept INSERT runs no referential trigger per row.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, draftFor } from '../../src/messaging/compose.ts';
import { DEFAULT_PROFILE } from '../../src/messaging/encode-profile.ts';
import type { Db } from '../../src/store/db.ts';
import { MessagesRepo } from '../../src/store/messages-repo.ts';
import { migrate } from '../../src/store/migrate.ts';
import { databaseUrl } from '../helpers/services.ts';

const SCHEMA = `t_integrity_${process.pid}`;
const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
let c: pg.Client;
let db: Db;

const policy = { defaultRegion: 'US', maxSegments: 10, validityMs: 3_600_000 };
const draft = (accountId: string, to: string, body = 'hello') =>
  draftFor(
    checkRequest(
      { to, body },
      { accountId, from: { e164: '+15550100001', type: 'local' }, now: new Date() },
      policy,
      () => undefined,
    ),
    DEFAULT_PROFILE,
    policy,
    1,
    undefined,
  );

beforeAll(async () => {
  c = new pg.Client({ connectionString: await databaseUrl(), options: `-c search_path=${SCHEMA},public` });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
  db = {
    kind: 'postgres',
    query: (sql, p) => c.query(sql, p).then((r) => ({ rows: r.rows, rowCount: r.rowCount ?? 0 })),
    tx: async (fn) => fn(null as never),
    exec: async (sql) => void (await c.query(sql)),
    close: async () => undefined,
  } as Db;
  await migrate(db, SCHEMA);
  for (const id of [A, B])
    await c.query(`INSERT INTO accounts (id, name, webhook_secret) VALUES ($1, 'a', 's')`, [id]);
});

afterAll(async () => {
  await c?.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await c?.end();
});

const code = (p: Promise<unknown>) => p.then(() => 'ok').catch((e: { code?: string }) => e.code);

describe('hot-path integrity kept on the parent side (migration 018)', () => {
  it('an account with messages or contacts cannot be deleted or renumbered; an unused one can', async () => {
    await new MessagesRepo(db).insertDrafts([draft(A, '+14155550101')], new Date());
    expect(await code(c.query('DELETE FROM accounts WHERE id = $1', [A]))).toBe('23503');
    expect(
      await code(
        c.query(`UPDATE accounts SET id = '33333333-3333-4333-8333-333333333333' WHERE id = $1`, [A]),
      ),
    ).toBe('23503');
    await c.query(
      `INSERT INTO contacts (id, account_id, e164) VALUES (gen_random_uuid(), $1, '+14155550199')`,
      [B],
    );
    expect(await code(c.query('DELETE FROM accounts WHERE id = $1', [B]))).toBe('23503');
    await c.query('DELETE FROM contacts WHERE account_id = $1', [B]);
    expect(await code(c.query('DELETE FROM accounts WHERE id = $1', [B]))).toBe('ok');
    expect((await c.query('SELECT count(*)::int AS n FROM accounts WHERE id = $1', [A])).rows[0].n).toBe(1);
  });

  it('deleting a message deletes its segments (as ON DELETE CASCADE did)', async () => {
    const d = draft(A, '+14155550102', 'x'.repeat(400));
    await new MessagesRepo(db).insertDrafts([d], new Date());
    const segs = async () =>
      (await c.query('SELECT count(*)::int AS n FROM segments WHERE message_id = $1', [d.id])).rows[0].n;
    expect(await segs()).toBeGreaterThan(1);
    await c.query('DELETE FROM messages WHERE id = $1', [d.id]);
    expect(await segs()).toBe(0);
  });

  it('the accept INSERT fires no referential trigger per row', async () => {
    const out: Array<{ sql: string; params: unknown[] }> = [];
    const capture = {
      ...db,
      query: async (sql: string, params: unknown[] = []) => {
        out.push({ sql, params });
        return { rows: [], rowCount: 0 };
      },
    } as Db;
    await new MessagesRepo(capture).insertDrafts(
      Array.from({ length: 50 }, (_, k) => draft(A, `+1415555${String(1000 + k)}`)),
      new Date(),
    );
    await c.query('BEGIN');
    try {
      const r = await c.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${out[0]!.sql}`, out[0]!.params);
      const triggers = (r.rows[0]['QUERY PLAN'] as Array<{ Triggers?: unknown[] }>)[0]!.Triggers ?? [];
      expect(triggers).toEqual([]);
    } finally {
      await c.query('ROLLBACK');
    }
  });
});
