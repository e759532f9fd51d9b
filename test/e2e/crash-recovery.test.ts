import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type Child, runTs } from '../helpers/processes.ts';
import { databaseUrl } from '../helpers/services.ts';
import { waitFor } from '../helpers/smpp.ts';

const ADMIN = 'crash-test-admin-token-0123';
const children: Child[] = [];
let dropDb: (() => Promise<void>) | undefined;
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  await dropDb?.();
});

async function freshDatabase(): Promise<string> {
  const base = await databaseUrl();
  const name = `parley_crash_${process.pid}_${Date.now() % 100000}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  dropDb = async () => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

describe('crash recovery', () => {
  it('loses nothing accepted when the gateway is killed with SIGKILL mid-run and restarted', async () => {
    const dbUrl = await freshDatabase();
    const scenarioFile = path.join(os.tmpdir(), `parley-crash-scenario-${process.pid}.json`);
    writeFileSync(
      scenarioFile,
      JSON.stringify({ extends: 'default', receipts: { minMs: 100, maxMs: 1500 } }),
    );
    const sim = runTs(
      'simulator/main.ts',
      [
        '--port',
        '0',
        '--control-port',
        '0',
        '--system-id',
        'parley',
        '--password',
        'parley',
        '--seed',
        '5',
        '--scenario',
        scenarioFile,
      ],
      {},
    );
    children.push(sim);
    const ready = await sim.waitLine((o) => o.msg === 'simulator ready', 20_000);
    const smscPort = Number(String(ready.smpp).split(':')[1]);
    const configFile = path.join(os.tmpdir(), `parley-crash-${process.pid}.json`);
    writeFileSync(
      configFile,
      JSON.stringify({
        carriers: [
          {
            id: 'sim',
            host: '127.0.0.1',
            port: smscPort,
            systemId: 'parley',
            password: 'parley',
            windowSize: 20,
            maxSubmitsPerSecond: 400,
          },
        ],
      }),
    );
    const env = {
      DATABASE_URL: dbUrl,
      PARLEY_CONFIG: configFile,
      PARLEY_ADMIN_TOKEN: ADMIN,
      PORT: '0',
      PARLEY_LEASE_MS: '3000',
      LOG_LEVEL: 'info',
    };

    const start = async () => {
      const gw = runTs('src/main.ts', [], env);
      children.push(gw);
      const l = await gw.waitLine((o) => o.msg === 'parley listening', 30_000);
      return { gw, url: String(l.address) };
    };
    const first = await start();
    const post = async (url: string, p: string, body: unknown, key: string) => {
      const r = await fetch(`${url}${p}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return (await r.json()) as Record<string, any>;
    };
    const account = await post(first.url, '/v1/admin/accounts', { name: 'crash' }, ADMIN);
    await post(
      first.url,
      '/v1/admin/numbers',
      { accountId: account.id, number: '+15550107777', type: 'local' },
      ADMIN,
    );

    const accepted: string[] = [];
    for (let b = 0; b < 4; b++) {
      const r = await post(
        first.url,
        '/v1/messages/batch',
        {
          messages: Array.from({ length: 500 }, (_, i) => ({
            to: `+1415557${String(1000 + b * 500 + i)}`,
            body: `crash ${b}-${i}`,
          })),
        },
        account.apiKey,
      );
      for (const x of r.results) if (x.id) accepted.push(x.id);
    }
    expect(accepted).toHaveLength(2000);

    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    const counts = async () =>
      (
        await db.query<{ status: string; n: number }>(
          'SELECT status, count(*)::int AS n FROM messages GROUP BY status',
        )
      ).rows;
    // Kill while work is in every stage: some delivered, some sent awaiting receipts, some still queued.
    await waitFor(() => false, 1_200, 'mid-run').catch(() => undefined);
    const before = await counts();
    first.gw.child.kill('SIGKILL');
    await first.gw.exited;
    expect(before.some((r) => r.status === 'delivered')).toBe(true);
    expect(before.some((r) => r.status !== 'delivered')).toBe(true);

    const second = await start();
    let final = 0;
    await waitFor(
      () => final === 2000,
      60_000,
      'all 2000 messages final after restart',
      async () => {
        final = (
          await db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM messages WHERE status IN ('delivered','undelivered','failed','expired','rejected')",
          )
        ).rows[0]!.n;
      },
    ).catch(async (err) => {
      const segs = (
        await db.query('SELECT status, reason, resends, count(*)::int AS n FROM segments GROUP BY 1, 2, 3')
      ).rows;
      throw new Error(
        `${(err as Error).message}; messages ${JSON.stringify(await counts())}; segments ${JSON.stringify(segs)}; log tail ${second.gw.lines.slice(-8).join('\n')}`,
      );
    });
    const stored = await db.query<{ id: string; status: string }>(
      'SELECT id, status FROM messages WHERE id = ANY($1::uuid[])',
      [accepted],
    );
    expect(stored.rows).toHaveLength(2000);
    const resent = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM segments WHERE resends > 1');
    expect(resent.rows[0]!.n).toBe(0);
    const failed = stored.rows.filter((r) => r.status !== 'delivered');
    // Only segments whose submit may have reached the SMSC before the kill could end other than delivered.
    expect(failed.length).toBeLessThan(50);
    await db.end();

    second.gw.child.kill('SIGTERM');
    expect(await second.gw.exited).toBe(0);
    sim.child.kill('SIGTERM');
    await sim.exited;
  }, 120_000);
});
