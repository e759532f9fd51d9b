import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/messaging/webhooks.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/smpp.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function sink(failFirst: number) {
  const got: Array<{ body: string; signature: string; status: number }> = [];
  let calls = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const status = calls++ < failFirst ? 503 : 204;
      got.push({ body, signature: String(req.headers['x-parley-signature']), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  stops.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/inbound`, got };
}

describe('inbound webhooks', () => {
  it('POST every reply (a multipart one as one message), signed, retried after failures', async () => {
    const t: TestGateway = await startTestGateway({
      file: import.meta.filename,
      env: { PARLEY_WEBHOOK_BACKOFF_MS: '50', PARLEY_WEBHOOK_ALLOW_NETWORKS: '127.0.0.1/32' },
    });
    stops.push(() => t.stop());
    const auth = { authorization: `Bearer ${t.account.apiKey}` };
    const s = await sink(1);
    const put = await t.request('PUT', '/v1/settings/webhooks', { inboundUrl: s.url }, auth);
    expect(put.json).toEqual({ inboundUrl: s.url });
    expect((await t.request('GET', '/v1/settings/webhooks', undefined, auth)).json).toEqual({
      inboundUrl: s.url,
    });
    t.sim.injectMo({ from: '+14155550301', to: t.account.number, text: 'hello there' });
    t.sim.injectMo({ from: '+14155550302', to: t.account.number, text: `long ${'y'.repeat(300)}` });
    await waitFor(
      () => s.got.filter((g) => g.status === 204).length === 2,
      10_000,
      'two inbound webhooks delivered',
    );
    const ok = s.got.filter((g) => g.status === 204).map((g) => JSON.parse(g.body));
    expect(ok.map((e) => [e.type, e.from, e.to, e.body.length, e.complete]).sort()).toEqual([
      ['message.inbound', '+14155550301', t.account.number, 11, true],
      ['message.inbound', '+14155550302', t.account.number, 305, true],
    ]);
    const secret = (await t.gw.accounts.getAccount(t.account.id))!.webhookSecret;
    for (const g of s.got) {
      const ts = Number(/t=(\d+)/.exec(g.signature)![1]);
      expect(g.signature).toBe(signWebhook(secret, g.body, ts));
    }
    expect(s.got.length).toBe(3); // one failure, retried
    // Messages to a number of another account, or with no URL set, make no webhook.
    const other = await t.createAccount('Quiet', '+15550105555');
    t.sim.injectMo({ from: '+14155550303', to: other.number, text: 'nobody listens' });
    let stored = 0;
    await waitFor(
      () => stored === 1,
      10_000,
      'the other account’s MO stored',
      async () => {
        stored = Number(
          (
            await t.gw.db.query<{ n: string }>(
              'SELECT count(*) AS n FROM inbound_messages WHERE account_id = $1',
              [other.id],
            )
          ).rows[0]!.n,
        );
      },
    );
    const queued = await t.gw.db.query(
      'SELECT count(*)::int AS n FROM webhook_deliveries WHERE account_id = $1',
      [other.id],
    );
    expect(queued.rows[0]).toEqual({ n: 0 });
    expect(s.got.length).toBe(3);
  });

  it('refuses URLs webhooks may not go to', async () => {
    const t = await startTestGateway({ file: import.meta.filename });
    stops.push(() => t.stop());
    const auth = { authorization: `Bearer ${t.account.apiKey}` };
    for (const url of [
      'http://127.0.0.1:5432/',
      'ftp://example.com/',
      'http://169.254.169.254/latest',
      'not a url',
    ]) {
      const r = await t.request('PUT', '/v1/settings/webhooks', { inboundUrl: url }, auth);
      expect([r.status, r.json.error.code], url).toEqual([400, 'INVALID_CALLBACK_URL']);
    }
    expect((await t.request('PUT', '/v1/settings/webhooks', { inboundUrl: null }, auth)).json).toEqual({
      inboundUrl: null,
    });
  });

  it("POSTs a number's replies to the number's own URL, others to the account's", async () => {
    const t = await startTestGateway({
      file: import.meta.filename,
      env: { PARLEY_WEBHOOK_ALLOW_NETWORKS: '127.0.0.1/32' },
    });
    stops.push(() => t.stop());
    const auth = { authorization: `Bearer ${t.account.apiKey}` };
    const second = '+15550109891';
    await t.gw.accounts.addNumber(t.account.id, second, 'local');
    const [acct, own] = [await sink(0), await sink(0)];
    await t.request('PUT', '/v1/settings/webhooks', { inboundUrl: acct.url }, auth);
    const list = await t.request('GET', '/v1/numbers', undefined, auth);
    expect(
      list.json.data.map((n: { number: string; accountDefault: boolean }) => [n.number, n.accountDefault]),
    ).toEqual([
      [t.account.number, true],
      [second, false],
    ]);
    const id = list.json.data[1].id;
    const p = await t.request(
      'PATCH',
      `/v1/numbers/${id}`,
      { inboundWebhookUrl: own.url, friendlyName: 'Support' },
      auth,
    );
    expect(p.json).toMatchObject({ number: second, friendlyName: 'Support', inboundWebhookUrl: own.url });
    t.sim.injectMo({ from: '+14155550311', to: t.account.number, text: 'to the first' });
    t.sim.injectMo({ from: '+14155550312', to: second, text: 'to the second' });
    await waitFor(() => acct.got.length === 1 && own.got.length === 1, 10_000, 'one each');
    expect(JSON.parse(acct.got[0]!.body).body).toBe('to the first');
    expect(JSON.parse(own.got[0]!.body).body).toBe('to the second');
    // Cleared: the account's URL again.
    await t.request('PATCH', `/v1/numbers/${id}`, { inboundWebhookUrl: null }, auth);
    t.sim.injectMo({ from: '+14155550312', to: second, text: 'again' });
    await waitFor(() => acct.got.length === 2, 10_000, 'back to the account URL');
    expect(own.got.length).toBe(1);
    // Hostile: a metadata address, another account's number, a malformed id.
    const bad = await t.request(
      'PATCH',
      `/v1/numbers/${id}`,
      { inboundWebhookUrl: 'http://169.254.169.254/' },
      auth,
    );
    expect([bad.status, bad.json.error.code]).toEqual([400, 'INVALID_CALLBACK_URL']);
    const other = await t.createAccount('Other', '+15550107703');
    const theirs = { authorization: `Bearer ${other.apiKey}` };
    expect((await t.request('PATCH', `/v1/numbers/${id}`, { friendlyName: 'x' }, theirs)).status).toBe(404);
    expect((await t.request('GET', `/v1/numbers/${id}`, undefined, theirs)).status).toBe(404);
    expect((await t.request('GET', '/v1/numbers/not-an-id', undefined, auth)).status).toBe(400);
  });
});
