import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { databaseUrl, uniqueSchema } from '../helpers/services.ts';

// Found at 2,000 requests/s with the carrier bound: the pool opened connections lazily (and closed
// idle ones), so a burst in the middle of traffic forked new backends whose first statements took
// 12-40 ms each (cold catalog caches), and accept latency clustered at 50-70 ms around them.
const schema = uniqueSchema(import.meta.filename);
const SIZE = 4;
let db: Db;
let c: pg.Client;
beforeAll(async () => {
  db = await openDb({ url: await databaseUrl(), dataDir: '', schema, poolSize: SIZE });
  await migrate(db, schema);
  c = new pg.Client({ connectionString: await databaseUrl() });
  await c.connect();
});
afterAll(async () => {
  await db?.close();
  await c?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c?.end();
});

const warmed = async () =>
  (
    await c.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE query LIKE $1 ORDER BY pid`, [
      `SELECT 1 FROM ${schema}.%WHERE false%`,
    ])
  ).rows.map((r) => r.pid);

describe('database pool warm-up', () => {
  it('opens every connection of the pool before traffic, each having planned a statement on the schema tables', async () => {
    expect(await warmed()).toHaveLength(0);
    expect(await db.warm()).toBe(SIZE);
    const pids = await warmed();
    expect(pids).toHaveLength(SIZE);
  });

  it('a burst of twice the pool size runs on those connections: no backend is opened under load', async () => {
    const before = await warmed();
    const used = await Promise.all(
      Array.from({ length: SIZE * 2 }, () =>
        db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.05)'),
      ),
    );
    const pids = new Set(used.map((r) => r.rows[0]!.pid));
    expect([...pids].every((p) => before.includes(p))).toBe(true);
  });

  it('a server that gives fewer connections than the pool size: warms those, and the gateway still starts', async () => {
    const role = `${schema}_lim`;
    await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'warm-test' CONNECTION LIMIT 2`);
    let small: Db | undefined;
    try {
      await c.query(`GRANT ALL ON SCHEMA ${schema} TO ${role}`);
      await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${role}`);
      await c.query(`GRANT CREATE ON DATABASE ${new URL(await databaseUrl()).pathname.slice(1)} TO ${role}`);
      const url = new URL(await databaseUrl());
      url.username = role;
      url.password = 'warm-test';
      small = await openDb({ url: url.toString(), dataDir: '', schema, poolSize: SIZE });
      expect(await small.warm()).toBe(2);
      const r = await small.query<{ n: number }>('SELECT 1 AS n');
      expect(r.rows[0]!.n).toBe(1);
    } finally {
      await small?.close();
      await c.query(`DROP OWNED BY ${role}`);
      await c.query(`DROP ROLE ${role}`);
    }
  });

  // Found at 2,000 requests/s with the carrier up: PostgreSQL spent 5.3 s planning against 4.5 s
  // executing in a 10-s run, every execution planned anew (force_custom_plan). A named statement
  // of the gateway's own pool is now planned once per connection; an unnamed one stays per call.
  it('a named statement runs on one generic plan per connection; an unnamed one is planned with its values', async () => {
    const one = await openDb({ url: await databaseUrl(), dataDir: '', schema, poolSize: 1 });
    try {
      const sql =
        'SELECT m.id FROM unnest($1::uuid[]) AS u(id) CROSS JOIN LATERAL (SELECT id FROM messages WHERE id = u.id OFFSET 0) m';
      for (let i = 0; i < 5; i++) await one.query(sql, [[crypto.randomUUID()]], 'parley_test_generic');
      const prepared = await one.query<{ generic_plans: string; custom_plans: string }>(
        `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'parley_test_generic'`,
      );
      expect(prepared.rows.map((r) => [Number(r.generic_plans), Number(r.custom_plans)])).toEqual([[5, 0]]);
      // Unnamed, a statement is planned with its values: the plan shows the id itself.
      const id = crypto.randomUUID();
      const unnamed = await one.query<{ 'QUERY PLAN': string }>(
        'EXPLAIN SELECT id FROM messages WHERE id = ANY($1::uuid[])',
        [[id]],
      );
      const plan = unnamed.rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toContain(id);
      expect(plan).not.toContain('$1');
    } finally {
      await one.close();
    }
  });
});
