import { afterAll, describe, expect, it } from 'vitest';
import {
  CHILD_ADMIN,
  freshDatabase,
  startGatewayProcess,
  startSimProcess,
} from '../helpers/child-gateway.ts';
import type { Child } from '../helpers/processes.ts';
import { waitFor } from '../helpers/smpp.ts';

const children: Child[] = [];
let dropDb: (() => Promise<void>) | undefined;
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  await dropDb?.();
});

describe('crash recovery', () => {
  it('loses nothing accepted when the gateway is killed with SIGKILL mid-run and restarted', async () => {
    const db0 = await freshDatabase('crash');
    dropDb = db0.drop;
    const dbUrl = db0.url;
    const sim = await startSimProcess({ extends: 'default', receipts: { minMs: 100, maxMs: 1500 } });
    children.push(sim.child);
    const env = { PARLEY_LEASE_MS: '3000' };
    const carrier = { maxSubmitsPerSecond: 400 };

    const start = async () => {
      const gw = await startGatewayProcess(dbUrl, sim.smscPort, env, carrier);
      children.push(gw.child);
      return gw;
    };
    const first = await start();
    const account = (await first.post('/v1/admin/accounts', { name: 'crash' }, CHILD_ADMIN)).json;
    await first.post(
      '/v1/admin/numbers',
      { accountId: account.id, number: '+15550107777', type: 'local' },
      CHILD_ADMIN,
    );

    const accepted: string[] = [];
    for (let b = 0; b < 4; b++) {
      const { json: r } = await first.post(
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

    const db = await db0.client();
    const counts = async () =>
      (
        await db.query<{ status: string; n: number }>(
          'SELECT status, count(*)::int AS n FROM messages GROUP BY status',
        )
      ).rows;
    // Kill while work is in every stage: some delivered, some sent awaiting receipts, some still queued.
    let before: Array<{ status: string; n: number }> = [];
    const n = (status: string) => before.find((r) => r.status === status)?.n ?? 0;
    await waitFor(
      () => n('delivered') >= 100 && n('sent') > 0,
      30_000,
      'some messages delivered and some awaiting receipts',
      async () => {
        before = await counts();
      },
    );
    first.child.child.kill('SIGKILL');
    await first.child.exited;
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
        `${(err as Error).message}; messages ${JSON.stringify(await counts())}; segments ${JSON.stringify(segs)}; log tail ${second.child.lines.slice(-8).join('\n')}`,
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

    second.child.child.kill('SIGTERM');
    expect(await second.child.exited).toBe(0);
    sim.child.child.kill('SIGTERM');
    await sim.child.exited;
  }, 120_000);
});
