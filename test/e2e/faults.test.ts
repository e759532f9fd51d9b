import { afterEach, describe, expect, it } from 'vitest';
import { applyScenario, namedScenario } from '../../simulator/scenario.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function sendBatch(gw: TestGateway, n: number, body = 'fault test'): Promise<string[]> {
  const r = await gw.request(
    'POST',
    '/v1/messages/batch',
    {
      messages: Array.from({ length: n }, (_, i) => ({
        to: `+1415555${String(1000 + i)}`,
        body: `${body} ${i}`,
      })),
    },
    { authorization: `Bearer ${gw.account.apiKey}` },
  );
  expect(r.json.accepted).toBe(n);
  return r.json.results.map((x: { id: string }) => x.id);
}

const scenarios: Array<[string, Parameters<typeof applyScenario>[1], Record<string, unknown>?]> = [
  ['mixed-outcomes', {}],
  ['throttle', { faults: { throughputLimit: 100 } }],
  ['queue-full', {}],
  ['generic-nack', {}],
  ['reject', {}],
  ['missing-responses', {}, { responseTimeoutMs: 300 }],
  ['drop-connection', { faults: { dropConnectionProbability: 0.02 } }],
  ['receipt-before-response', {}],
  ['duplicate-receipts', {}],
  ['out-of-order', {}],
  ['decimal-receipt-ids', {}],
  ['leading-zero-receipt-ids', {}],
  ['text-only-receipts', {}],
  ['tlv-only-receipts', {}],
  ['alnum-ids', {}],
];

describe('every simulator fault ends with every message in a final state', () => {
  for (const [name, patch, carrier] of scenarios) {
    it(name, async () => {
      t = await startTestGateway({
        file: import.meta.filename,
        scenario: applyScenario(namedScenario(name), patch),
        carrier,
      });
      const ids = await sendBatch(t, 120);
      const final = await t.waitFinal(ids, 30_000);
      const statuses = [...final.values()].map((m) => m.status);
      expect(statuses).toHaveLength(120);
      if (name === 'reject') expect(statuses).toContain('failed');
      if (name === 'mixed-outcomes') expect(new Set(statuses).size).toBeGreaterThan(1);
      if (!['reject', 'mixed-outcomes', 'missing-responses', 'drop-connection'].includes(name)) {
        expect(
          statuses.every((s) => s === 'delivered'),
          `${name}: ${JSON.stringify(statuses.filter((s) => s !== 'delivered').slice(0, 5))}`,
        ).toBe(true);
      }
      if (name === 'missing-responses' || name === 'drop-connection') {
        // Resent at most once: never more submits than messages + those marked possibleDuplicate.
        const dup = await t.gw.db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM segments WHERE possible_duplicate',
        );
        const resent = await t.gw.db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM segments WHERE resends > 1',
        );
        expect(resent.rows[0]!.n).toBe(0);
        expect(t.sim.stats.submits).toBeLessThanOrEqual(120 + dup.rows[0]!.n);
      }
    });
  }

  it('dead enquire_link: the bind is replaced and messages still finish', async () => {
    t = await startTestGateway({
      file: import.meta.filename,
      scenario: 'dead-enquire-link',
      carrier: { enquireLinkIntervalMs: 200 },
    });
    const ids = await sendBatch(t, 50);
    await t.waitFinal(ids, 30_000);
    expect(t.gw.carriers[0]!.binds[0]!.counters.binds).toBeGreaterThanOrEqual(1);
  });

  it('no carrier bound: messages wait, then expire after their validity', async () => {
    t = await startTestGateway({
      file: import.meta.filename,
      carrier: { password: 'wrong' },
      env: { PARLEY_VALIDITY_MS: '1500', PARLEY_LEASE_MS: '2000' },
    });
    const ids = await sendBatch(t, 5);
    const final = await t.waitFinal(ids, 15_000);
    expect([...final.values()].every((m) => m.status === 'expired')).toBe(true);
    const g = await t.request('GET', `/v1/messages/${ids[0]}`, undefined, {
      authorization: `Bearer ${t.account.apiKey}`,
    });
    expect(g.json.reason).toBe('validity_expired');
    const ready = await t.request('GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.json.checks.carriers.sim).toMatchObject({ healthy: 0, bound: 0 });
  });
});
