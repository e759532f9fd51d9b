import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_EVENT_TYPES } from '../../src/conversations/live-events.ts';
import { MESSAGE_STATUSES, NUMBER_TYPES, STATUS_RANK } from '../../src/messaging/vocabulary.ts';
import { openDb } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { databaseUrl, uniqueSchema } from '../helpers/services.ts';

const schema = uniqueSchema(import.meta.filename);
let c: pg.Client;
beforeAll(async () => {
  const db = await openDb({ url: await databaseUrl(), dataDir: '', schema });
  await migrate(db, schema);
  await db.close();
  c = new pg.Client({ connectionString: await databaseUrl(), options: `-c search_path=${schema}` });
  await c.connect();
});
afterAll(async () => {
  await c?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c?.end();
});

// The vocabularies live in src/messaging/vocabulary.ts; the schema repeats two of them where SQL
// needs them. This keeps them equal.
describe('the schema speaks the core vocabulary', () => {
  it('parley_status_rank() ranks every status as STATUS_RANK does', async () => {
    for (const s of MESSAGE_STATUSES) {
      const r = await c.query<{ rank: number }>('SELECT parley_status_rank($1) AS rank', [s]);
      expect(Number(r.rows[0]!.rank), s).toBe(STATUS_RANK[s]);
    }
  });
  it('numbers accept exactly the number types of the vocabulary', async () => {
    const r = await c.query<{ def: string }>(
      "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'numbers'::regclass AND contype = 'c' AND conname = 'numbers_type_check'",
    );
    expect(r.rows).toHaveLength(1);
    const allowed = [...r.rows[0]!.def.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]).sort();
    expect(allowed).toEqual([...NUMBER_TYPES].sort());
  });
  it('the live event log accepts exactly the live event types', async () => {
    const r = await c.query<{ def: string }>(
      "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'account_events'::regclass AND contype = 'c'",
    );
    const allowed = [...r.rows[0]!.def.matchAll(/'([a-z_.]+)'/g)].map((m) => m[1]).sort();
    expect(allowed).toEqual([...LIVE_EVENT_TYPES].sort());
  });
});
