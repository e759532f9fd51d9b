import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { applyScenario, namedScenario } from '../../simulator/scenario.ts';
import { ADMIN_TOKEN, startTestGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/smpp.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

const BASE = 'https://pl.test/l/';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';

async function sink() {
  const got: any[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  stops.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

async function gateway(scenario?: Parameters<typeof startTestGateway>[0]['scenario']) {
  const t = await startTestGateway({
    file: import.meta.filename,
    scenario,
    env: { PARLEY_LINK_BASE_URL: BASE, PARLEY_WEBHOOK_ALLOW_NETWORKS: '127.0.0.1/32' },
  });
  stops.push(() => t.stop());
  return { t, auth: { authorization: `Bearer ${t.account.apiKey}` } };
}

const counter = async (t: Awaited<ReturnType<typeof gateway>>['t'], name: string) => {
  const text = await t.gw.metrics.registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
};

describe('tracked links', () => {
  it('shortens each URL once per message, counts segments on the short body, redirects, and counts human clicks only', async () => {
    const { t, auth } = await gateway();
    const s = await sink();
    const long = `https://shop.example.com/products/${'x'.repeat(200)}?utm_source=sms`;
    const body = `Sale! ${long} and www.example.org/a, again ${long}. Not node.js`;
    const r = await t.request(
      'POST',
      '/v1/messages',
      { to: '+14155550123', body, trackLinks: true, statusCallback: s.url },
      auth,
    );
    expect(r.status).toBe(202);
    const stored = (
      await t.gw.db.query<{ body: string; segments: number }>(
        'SELECT body, segments FROM messages WHERE id = $1',
        [r.json.id],
      )
    ).rows[0]!;
    const codes = [...stored.body.matchAll(/https:\/\/pl\.test\/l\/([0-9A-Za-z]{10})/g)].map((m) => m[1]);
    expect(codes).toHaveLength(3);
    expect(codes[0]).toBe(codes[2]);
    expect(codes[0]).not.toBe(codes[1]);
    expect(stored.body).toContain('Not node.js');
    expect(stored.body).not.toContain('shop.example.com');
    // The short body fits one segment; the long one needs four.
    expect(r.json.segments).toBe(1);
    expect(stored.segments).toBe(1);
    const dry = await t.request('POST', '/v1/messages/encode', { body, trackLinks: true }, auth);
    expect(dry.json.segments).toBe(1);
    expect((await t.request('POST', '/v1/messages/encode', { body }, auth)).json.segments).toBe(4);

    const go = (code: string, ua: string, method = 'GET') =>
      t.gw.http.inject({ method: method as 'GET', url: `/l/${code}`, headers: { 'user-agent': ua } });
    const bot = await go(
      codes[0]!,
      'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
    );
    expect(bot.statusCode).toBe(302);
    expect(bot.headers.location).toBe(long);
    expect((await go(codes[0]!, IPHONE, 'HEAD')).statusCode).toBe(302);
    const human = await go(codes[0]!, IPHONE);
    expect(human.statusCode).toBe(302);
    expect(human.headers['cache-control']).toBe('no-store');
    await go(codes[0]!, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0');
    const other = await go(codes[1]!, IPHONE);
    expect(other.headers.location).toBe('http://www.example.org/a');

    const m = await t.request('GET', `/v1/messages/${r.json.id}`, undefined, auth);
    expect(m.json.clicked).toEqual({ total: 3, unique: 2 });
    const first = m.json.links.find((l: any) => l.code === codes[0]);
    expect(first).toMatchObject({ url: long, clicks: 2 });
    const bots = await t.gw.db.query('SELECT bot_hits FROM links WHERE code = $1', [codes[0]]);
    expect(bots.rows[0]!.bot_hits).toBe(1);
    const agents = await t.gw.db.query('SELECT agent FROM link_clicks WHERE message_id = $1 ORDER BY id', [
      r.json.id,
    ]);
    expect(agents.rows.map((x) => x.agent)).toEqual(['mobile', 'desktop', 'mobile']);

    await waitFor(
      () => s.got.filter((e) => e.event === 'message.clicked').length === 3,
      10_000,
      'three message.clicked callbacks',
    );
    const clicked = s.got.filter((e) => e.event === 'message.clicked');
    expect(clicked[0]).toMatchObject({ id: r.json.id, url: long, agent: 'mobile' });
    const seqs = s.got.map((e) => e.sequence);
    expect(new Set(seqs).size).toBe(seqs.length);
    const live = await t.gw.db.query(
      "SELECT count(*)::int AS n FROM account_events WHERE account_id = $1 AND type = 'message.clicked'",
      [t.account.id],
    );
    expect(live.rows[0]!.n).toBe(3);
    expect(await counter(t, 'parley_link_clicks_total{number_type="local",unique="true"}')).toBe(2);
    expect(await counter(t, 'parley_link_redirects_total{agent="bot"}')).toBe(1);
  });

  it('counts every click of a hammered link, but calls back and notifies only its first ten', async () => {
    const { t, auth } = await gateway();
    const s = await sink();
    const r = await t.request(
      'POST',
      '/v1/messages',
      { to: '+14155550125', body: 'go https://example.com/h', trackLinks: true, statusCallback: s.url },
      auth,
    );
    const code = (await t.gw.db.query('SELECT code FROM links WHERE message_id = $1', [r.json.id])).rows[0]!
      .code;
    // In parallel (batched together) and one by one.
    await Promise.all(
      Array.from({ length: 8 }, () =>
        t.gw.http.inject({ method: 'GET', url: `/l/${code}`, headers: { 'user-agent': IPHONE } }),
      ),
    );
    for (let i = 0; i < 7; i++)
      await t.gw.http.inject({ method: 'GET', url: `/l/${code}`, headers: { 'user-agent': IPHONE } });
    const m = await t.request('GET', `/v1/messages/${r.json.id}`, undefined, auth);
    expect(m.json.clicked).toEqual({ total: 15, unique: 1 });
    const count = async (sql: string) => Number((await t.gw.db.query(sql, [r.json.id])).rows[0]!.n);
    expect(
      await count(
        "SELECT count(*) AS n FROM webhook_deliveries WHERE message_id = $1 AND body LIKE '%message.clicked%'",
      ),
    ).toBe(10);
    expect(
      await count(
        "SELECT count(*) AS n FROM account_events WHERE type = 'message.clicked' AND data->>'id' = $1::text",
      ),
    ).toBe(10);
    expect(await count('SELECT count(*) AS n FROM link_clicks WHERE message_id = $1')).toBe(15);
  });

  it('answers unknown and hostile codes with a 404 page, never an error', async () => {
    const { t } = await gateway();
    for (const path of [
      '/l/AAAAAAAAAA',
      '/l/short',
      `/l/${'A'.repeat(64)}`,
      '/l/%00%00%00%00%00%00%00%00%00%00',
      "/l/'%20OR%201=1--",
      '/l/..%2F..%2Fetc',
      '/l/%F0%9F%92%A9%F0%9F%92%A9%F0%9F%92%A9',
    ]) {
      const r = await t.gw.http.inject({ method: 'GET', url: path });
      expect([400, 404]).toContain(r.statusCode);
      expect(r.body).not.toMatch(/stack|Error:/);
    }
    const r = await t.gw.http.inject({ method: 'GET', url: '/l/AAAAAAAAAA' });
    expect(r.statusCode).toBe(404);
    expect(r.headers['content-type']).toContain('text/html');
  });

  it("follows the account's default, and a request can turn it off", async () => {
    const { t, auth } = await gateway();
    const body = 'see https://example.com/x';
    const off = await t.request('POST', '/v1/messages', { to: '+14155550124', body }, auth);
    expect(
      (await t.request('PUT', '/v1/settings/messaging-compliance', { trackLinks: true }, auth)).json
        .trackLinks,
    ).toBe(true);
    const on = await t.request('POST', '/v1/messages', { to: '+14155550124', body }, auth);
    const no = await t.request('POST', '/v1/messages', { to: '+14155550124', body, trackLinks: false }, auth);
    const rows = await t.gw.db.query<{ id: string; body: string }>(
      'SELECT id, body FROM messages WHERE id = ANY($1::uuid[])',
      [[off.json.id, on.json.id, no.json.id]],
    );
    const b = new Map(rows.rows.map((x) => [x.id, x.body]));
    expect(b.get(off.json.id)).toBe(body);
    expect(b.get(no.json.id)).toBe(body);
    expect(b.get(on.json.id)).toMatch(/^see https:\/\/pl\.test\/l\/[0-9A-Za-z]{10}$/);
  });
});

describe('per-number metrics', () => {
  // Regression: every fold deletes what it folded; with autovacuum off (this machine) the deltas
  // table grew by its whole history and every figures read scanned it.
  it('keep the deltas table small: folded deltas are vacuumed away', async () => {
    const { t } = await gateway();
    const size = async () =>
      Number(
        (await t.gw.db.query<{ n: string }>("SELECT pg_relation_size('number_stat_deltas') AS n")).rows[0]!.n,
      );
    await t.gw.db.query(
      `INSERT INTO number_stat_deltas (account_id, from_e164, bucket, metric, n)
       SELECT $1, '+15550100001', date_trunc('hour', now()), 'sent', 1 FROM generate_series(1, 100000)`,
      [t.account.id],
    );
    const grown = await size();
    expect(grown).toBeGreaterThan(2_000_000);
    while ((await t.gw.numberStats.fold()) > 0);
    // VACUUM frees what no running transaction can still see: other test files share this
    // PostgreSQL, so it is asked again until their snapshots have moved on.
    let now = grown;
    await waitFor(
      () => now < grown / 20,
      30_000,
      'the folded deltas vacuumed away',
      async () => {
        await t.gw.numberStats.vacuum();
        now = await size();
      },
    );
    const all = await t.request('GET', '/v1/metrics/messages?groupBy=number', undefined, {
      authorization: `Bearer ${t.account.apiKey}`,
    });
    expect(all.json.data.find((x: any) => x.key === '+15550100001')?.sent).toBe(100_000);
  }, 60_000);

  it('match a direct count of the messages after mixed outcomes, carrier rejections and clicks', async () => {
    const sc = applyScenario(namedScenario('mixed-outcomes'), { faults: { rejectProbability: 0.1 } });
    const { t, auth } = await gateway(sc);
    const second = '+15550109999';
    await t.gw.accounts.addNumber(t.account.id, second, 'local');
    const ids: string[] = [];
    for (let b = 0; b < 4; b++) {
      const r = await t.request(
        'POST',
        '/v1/messages/batch',
        {
          messages: Array.from({ length: 50 }, (_, i) => ({
            to: `+1415555${String(b * 50 + i).padStart(4, '0')}`,
            from: i % 3 === 0 ? second : t.account.number,
            body: i % 5 === 0 ? `link https://example.com/${i} ${'é'.repeat(80)}` : `hello ${i}`,
            trackLinks: true,
          })),
        },
        auth,
      );
      expect(r.json.results.filter((x: any) => x.error)).toEqual([]);
      ids.push(...r.json.results.map((x: any) => x.id));
    }
    await t.waitFinal(ids, 60_000);
    // Two refusals at accept (never stored): an opted-out contact, and quiet hours in reject mode.
    const opt = await t.request(
      'POST',
      `/v1/admin/accounts/${t.account.id}/opt-outs`,
      { numbers: ['+14155559900'] },
      { authorization: `Bearer ${ADMIN_TOKEN}` },
    );
    expect(opt.status).toBe(200);
    const refusedDnd = await t.request('POST', '/v1/messages', { to: '+14155559900', body: 'x' }, auth);
    expect(refusedDnd.status).toBe(422);
    const h = new Date().getUTCHours();
    const closed = {
      start: `${String((h + 2) % 22).padStart(2, '0')}:00`,
      end: `${String(((h + 2) % 22) + 1).padStart(2, '0')}:00`,
    };
    await t.request(
      'PUT',
      '/v1/settings/messaging-compliance',
      { quietHours: { enabled: true, timeZone: 'UTC', ...closed } },
      auth,
    );
    await t.request('POST', '/v1/contacts', { number: '+14155559901', timeZone: 'UTC' }, auth);
    const refusedQuiet = await t.request(
      'POST',
      '/v1/messages',
      { to: '+14155559901', body: 'x', quietHours: 'reject' },
      auth,
    );
    expect(refusedQuiet.status).toBe(422);
    const code = (await t.gw.db.query('SELECT code FROM links LIMIT 1')).rows[0]!.code;
    for (let i = 0; i < 3; i++)
      await t.gw.http.inject({ method: 'GET', url: `/l/${code}`, headers: { 'user-agent': IPHONE } });

    const numbers = (await t.request('GET', '/v1/numbers', undefined, auth)).json.data;
    const direct = await t.gw.db.query<Record<string, any>>(
      `SELECT from_e164, count(*) FILTER (WHERE sent_at IS NOT NULL)::int AS sent,
              count(*) FILTER (WHERE status = 'delivered')::int AS delivered,
              count(*) FILTER (WHERE status IN ('failed', 'undelivered', 'expired', 'rejected'))::int AS failed,
              count(*) FILTER (WHERE reason IN ('carrier_rejected', 'receipt_rejected'))::int AS filtered,
              count(*) FILTER (WHERE reason IN ('validity_expired', 'receipt_expired'))::int AS expired,
              coalesce(sum(segments) FILTER (WHERE sent_at IS NOT NULL), 0)::int AS segments
       FROM messages WHERE account_id = $1 GROUP BY 1`,
      [t.account.id],
    );
    expect(direct.rows.reduce((n, r) => n + r.failed, 0)).toBeGreaterThan(0);
    for (const row of direct.rows) {
      const n = numbers.find((x: any) => x.number === row.from_e164);
      const m = await t.request('GET', `/v1/numbers/${n.id}/metrics?interval=hour`, undefined, auth);
      expect(m.status).toBe(200);
      expect(m.json.buckets).toHaveLength(24 + 1);
      const tot = m.json.totals;
      expect({
        sent: tot.sent,
        delivered: tot.delivered,
        failed: tot.failed.total - tot.failed.refusedAtAccept,
        filtered: tot.failed.byReason.carrier_filtered,
        expired: tot.failed.byReason.expired,
        segments: tot.segments,
      }).toEqual({
        sent: row.sent,
        delivered: row.delivered,
        failed: row.failed,
        filtered: row.filtered,
        expired: row.expired,
        segments: row.segments,
      });
      expect(tot.deliveryRatio).toBeCloseTo(row.delivered / row.sent, 3);
      // A range starting inside an hour gets that whole hour (its first bucket): from just after
      // the first send, every send is still counted.
      const first = await t.gw.db.query<{ at: Date }>(
        'SELECT min(sent_at) AS at FROM messages WHERE account_id = $1 AND from_e164 = $2',
        [t.account.id, row.from_e164],
      );
      const since = new Date(first.rows[0]!.at.getTime() + 1).toISOString();
      const partial = await t.request('GET', `/v1/numbers/${n.id}/metrics?from=${since}`, undefined, auth);
      expect(partial.json.totals.sent).toBe(row.sent);
    }
    let main: any;
    await waitFor(
      () => main?.failed.refusedAtAccept === 2,
      5_000,
      'the refusals counted',
      async () => {
        const all = await t.request('GET', '/v1/metrics/messages?groupBy=number', undefined, auth);
        main = all.json.data.find((x: any) => x.key === t.account.number);
      },
    );
    expect(main.failed.byReason).toMatchObject({ contact_opted_out: 1, quiet_hours: 1 });
    const byNumber = await t.request('GET', '/v1/metrics/messages?groupBy=number', undefined, auth);
    const clicks = byNumber.json.data.reduce((n: number, x: any) => n + x.clicked.total, 0);
    expect(clicks).toBe(3);
    expect(byNumber.json.data.reduce((n: number, x: any) => n + x.clicked.unique, 0)).toBe(1);
    // Folding the deltas into the rollups changes nothing that is read.
    await t.gw.numberStats.fold();
    const again = await t.request('GET', '/v1/metrics/messages?groupBy=number', undefined, auth);
    expect(again.json.data).toEqual(byNumber.json.data);
    const byDay = await t.request('GET', '/v1/metrics/messages?groupBy=day', undefined, auth);
    expect(byDay.json.data.reduce((n: number, x: any) => n + x.sent, 0)).toBe(
      direct.rows.reduce((n, r) => n + r.sent, 0),
    );
    for (const bad of [
      'from=yesterday',
      'from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z',
      'interval=week',
    ]) {
      const r = await t.request('GET', `/v1/numbers/${numbers[0].id}/metrics?${bad}`, undefined, auth);
      expect(r.status).toBe(400);
    }
    const huge = await t.request(
      'GET',
      `/v1/numbers/${numbers[0].id}/metrics?interval=hour&from=2020-01-01T00:00:00Z`,
      undefined,
      auth,
    );
    expect(huge.status).toBe(400);
  });
});
