import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { applyScenario, namedScenario } from '../../simulator/scenario.ts';
import { signWebhook } from '../../src/messaging/webhooks.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/smpp.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function sink(failFirst: number) {
  const got: Array<{ body: string; signature: string; seq: string; status: number }> = [];
  let calls = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const status = calls++ < failFirst ? 500 : 204;
      got.push({
        body,
        signature: String(req.headers['x-parley-signature']),
        seq: String(req.headers['x-parley-sequence']),
        status,
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  stops.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

describe('status callbacks', () => {
  it('POSTs signed events with per-message sequence numbers, retrying failures from the database', async () => {
    const t = await startTestGateway({
      file: import.meta.filename,
      env: { PARLEY_WEBHOOK_BACKOFF_MS: '50', PARLEY_WEBHOOK_ALLOW_NETWORKS: '127.0.0.1/32' },
    });
    stops.push(() => t.stop());
    const s = await sink(2);
    const r = await t.request(
      'POST',
      '/v1/messages',
      { to: '+14155550190', body: 'hook me', statusCallback: s.url, metadata: { ref: 'A1' } },
      { authorization: `Bearer ${t.account.apiKey}` },
    );
    await t.waitFinal([r.json.id]);
    await waitFor(
      () => s.got.filter((g) => g.status === 204).length >= 3,
      10_000,
      'three delivered callbacks (sending, sent, delivered)',
    );
    const ok = s.got.filter((g) => g.status === 204).map((g) => JSON.parse(g.body));
    expect(ok.map((e) => e.status).sort()).toEqual(['delivered', 'sending', 'sent']);
    const bySeq = [...ok].sort((a, b) => a.sequence - b.sequence).map((e) => e.status);
    expect(bySeq).toEqual(['sending', 'sent', 'delivered']);
    expect(ok[0]).toMatchObject({ id: r.json.id, metadata: { ref: 'A1' }, to: '+14155550190' });
    const secret = (await t.gw.accounts.getAccount(t.account.id))!.webhookSecret;
    for (const g of s.got) {
      const ts = Number(/t=(\d+)/.exec(g.signature)![1]);
      expect(g.signature).toBe(signWebhook(secret, g.body, ts));
    }
    // The sink has answered 204 before the gateway records the delivery: wait for the record.
    let rows: Array<{ attempts: number; delivered: boolean }> = [];
    await waitFor(
      () => rows.length === 3 && rows.every((x) => x.delivered),
      10_000,
      'every callback recorded as delivered',
      async () => {
        rows = (
          await t.gw.db.query<{ attempts: number; delivered: boolean }>(
            'SELECT attempts, delivered_at IS NOT NULL AS delivered FROM webhook_deliveries WHERE message_id = $1 ORDER BY seq',
            [r.json.id],
          )
        ).rows;
      },
    );
    expect(rows.reduce((a, x) => a + x.attempts, 0)).toBe(s.got.length);
  });

  it('keeps retrying across a restart (attempts live in PostgreSQL) and gives up after the max age', async () => {
    const t = await startTestGateway({
      file: import.meta.filename,
      env: {
        PARLEY_WEBHOOK_BACKOFF_MS: '200',
        PARLEY_WEBHOOK_MAX_AGE_MS: '3000',
        PARLEY_WEBHOOK_ALLOW_NETWORKS: '127.0.0.1/32',
      },
    });
    stops.push(() => t.stop());
    const s = await sink(1_000_000);
    const r = await t.request(
      'POST',
      '/v1/messages',
      { to: '+14155550191', body: 'nobody listens', statusCallback: s.url },
      { authorization: `Bearer ${t.account.apiKey}` },
    );
    await t.waitFinal([r.json.id]);
    await waitFor(() => s.got.length >= 3, 5_000, 'first attempts');
    await t.gw.stop();
    const before = s.got.length;
    const again = await startTestGateway({
      file: import.meta.filename,
      shared: { schema: t.schema, sim: t.sim },
      env: {
        PARLEY_WEBHOOK_BACKOFF_MS: '200',
        PARLEY_WEBHOOK_MAX_AGE_MS: '3000',
        PARLEY_WEBHOOK_ALLOW_NETWORKS: '127.0.0.1/32',
      },
    });
    stops.push(() => again.gw.stop());
    const q = () =>
      again.gw.db.query<{ failed: boolean; attempts: number }>(
        'SELECT failed_at IS NOT NULL AS failed, attempts FROM webhook_deliveries WHERE message_id = $1',
        [r.json.id],
      );
    let rows: Array<{ failed: boolean; attempts: number }> = [];
    await waitFor(
      () => rows.length === 3 && rows.every((x) => x.failed),
      10_000,
      'callbacks abandoned',
      async () => {
        rows = (await q()).rows;
      },
    );
    expect(s.got.length).toBeGreaterThan(before);
    expect(rows.every((x) => x.attempts >= 2)).toBe(true);
  });
});

describe('several instances on one database', () => {
  it('share the work without sending anything twice', async () => {
    const a = await startTestGateway({ file: import.meta.filename, redis: true });
    stops.push(() => a.stop());
    const b = await startTestGateway({
      file: import.meta.filename,
      redis: true,
      shared: { schema: a.schema, sim: a.sim },
    });
    stops.push(() => b.gw.stop());
    const auth = { authorization: `Bearer ${a.account.apiKey}` };
    const ids: string[] = [];
    // Twenty batches, each claimed by whichever instance polls first: with four batches of 250
    // (one claim each) one instance took all of them about once in eight runs.
    for (let i = 0; i < 20; i++) {
      const r = await a.request(
        'POST',
        '/v1/messages/batch',
        {
          messages: Array.from({ length: 50 }, (_, j) => ({
            to: `+1415556${String(1000 + i * 50 + j)}`,
            body: `multi ${i}-${j}`,
          })),
        },
        auth,
      );
      ids.push(...r.json.results.map((x: { id: string }) => x.id));
    }
    const final = await a.waitFinal(ids, 30_000);
    expect([...final.values()].every((m) => m.status === 'delivered')).toBe(true);
    expect(a.sim.stats.accepted).toBe(1000);
    const sent = async (t: TestGateway) =>
      (await t.gw.metrics.submits.get()).values.reduce((s, v) => s + v.value, 0);
    expect(await sent(a)).toBeGreaterThan(0);
    expect(await sent(b)).toBeGreaterThan(0);
    expect((await sent(a)) + (await sent(b))).toBe(1000);
  });

  it('match receipts that reach another instance before the sender stored the id, through Redis', async () => {
    // The receipt goes out 60 ms before the submit_sm_resp, to B's receiver bind; A transmits and
    // stores the id only after the response: B must park every receipt in Redis and A take it.
    const scenario = applyScenario(namedScenario('default'), {
      receipts: { beforeResponseProbability: 1 },
      faults: { responseDelayMinMs: 60, responseDelayMaxMs: 60 },
    });
    const a = await startTestGateway({
      file: import.meta.filename,
      redis: true,
      scenario,
      carrier: { binds: [{ mode: 'tx', count: 1 }] },
    });
    stops.push(() => a.stop());
    const b = await startTestGateway({
      file: import.meta.filename,
      redis: true,
      shared: { schema: a.schema, sim: a.sim },
      carrier: { binds: [{ mode: 'rx', count: 1 }] },
    });
    stops.push(() => b.gw.stop());
    const r = await a.request(
      'POST',
      '/v1/messages/batch',
      {
        messages: Array.from({ length: 200 }, (_, j) => ({
          to: `+1415557${String(1000 + j)}`,
          body: `cross ${j}`,
        })),
      },
      { authorization: `Bearer ${a.account.apiKey}` },
    );
    const final = await a.waitFinal(
      r.json.results.map((x: { id: string }) => x.id),
      30_000,
    );
    expect([...final.values()].every((m) => m.status === 'delivered')).toBe(true);
    expect(b.gw.receipts.stats.parked).toBeGreaterThan(0);
    expect(a.gw.receipts.stats.parked).toBe(0);
    expect(b.gw.sweeper.stats.unmatched).toBe(0);
  });
});
