import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/smpp.ts';

let t: TestGateway;
let auth: Record<string, string>;
beforeAll(async () => {
  t = await startTestGateway({ file: import.meta.filename, scenario: 'default' });
  auth = { authorization: `Bearer ${t.account.apiKey}` };
});
afterAll(async () => t?.stop());

describe('HTTP → PostgreSQL → SMPP → receipt → status', () => {
  it('accepts, submits, and shows delivered with the full history', async () => {
    const r = await t.request(
      'POST',
      '/v1/messages',
      { to: '+14155550123', body: 'Hello from Parley' },
      auth,
    );
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ status: 'queued', segments: 1, encoding: 'gsm7' });
    await t.waitFinal([r.json.id]);
    const g = await t.request('GET', `/v1/messages/${r.json.id}`, undefined, auth);
    expect(g.status).toBe(200);
    expect(g.json).toMatchObject({
      status: 'delivered',
      from: t.account.number,
      to: '+14155550123',
      body: 'Hello from Parley',
    });
    expect(g.json.history.map((h: { status: string }) => h.status)).toEqual([
      'queued',
      'sending',
      'sent',
      'delivered',
    ]);
    expect(g.json.parts).toHaveLength(1);
    expect(g.json.parts[0]).toMatchObject({ status: 'delivered', carrier: 'sim', attempts: 1 });
    const seen = t.sim.core.listMessages(10).find((m) => m.id === g.json.parts[0].smscMessageId);
    expect(seen).toMatchObject({
      text: 'Hello from Parley',
      to: '14155550123',
      from: t.account.number.slice(1),
    });
  });

  it('splits long and UCS-2 text into segments that each get a receipt', async () => {
    const body = `Grüße aus Köln 😀 ${'x'.repeat(150)}`;
    const r = await t.request('POST', '/v1/messages', { to: '4155550124', body }, auth);
    expect(r.json).toMatchObject({ encoding: 'ucs2', segments: 3 });
    await t.waitFinal([r.json.id]);
    const g = await t.request('GET', `/v1/messages/${r.json.id}`, undefined, auth);
    expect(g.json.status).toBe('delivered');
    expect(g.json.to).toBe('+14155550124');
    expect(g.json.parts.map((p: { status: string }) => p.status)).toEqual([
      'delivered',
      'delivered',
      'delivered',
    ]);
    const smscIds = new Set(g.json.parts.map((p: { smscMessageId: string }) => p.smscMessageId));
    const got = t.sim.core.listMessages(100).filter((m) => smscIds.has(m.id as string));
    expect(got.map((m) => m.text).join('')).toBe(body);
  });

  it('accepts a batch with per-item errors in one transaction', async () => {
    const messages = [
      { to: '+14155550130', body: 'one' },
      { to: 'not a number', body: 'two' },
      { to: '+14155550132', body: '' },
      { to: '+14155550133', body: 'four', from: '+19995550000' },
      { to: '+14155550134', body: 'five', metadata: { order: 5 } },
    ];
    const r = await t.request('POST', '/v1/messages/batch', { messages }, auth);
    expect(r.status).toBe(200);
    expect(r.json.accepted).toBe(2);
    expect(r.json.rejected).toBe(3);
    expect(r.json.results.map((x: { error?: { code: string } }) => x.error?.code ?? 'ok')).toEqual([
      'ok',
      'INVALID_TO_NUMBER',
      'BODY_EMPTY',
      'NUMBER_NOT_FOUND',
      'ok',
    ]);
    const ids = r.json.results.filter((x: { id?: string }) => x.id).map((x: { id: string }) => x.id);
    const final = await t.waitFinal(ids);
    expect([...final.values()].every((m) => m.status === 'delivered')).toBe(true);
    const five = await t.request('GET', `/v1/messages/${ids[1]}`, undefined, auth);
    expect(five.json.metadata).toEqual({ order: 5 });
    expect(
      (
        await t.request(
          'POST',
          '/v1/messages/batch',
          { messages: Array(1001).fill({ to: '+1', body: 'x' }) },
          auth,
        )
      ).status,
    ).toBe(400);
  });

  it('makes Idempotency-Key replays return the first answer and conflicting reuse a 409', async () => {
    const h = { ...auth, 'idempotency-key': `key-${Date.now()}` };
    const a = await t.request('POST', '/v1/messages', { to: '+14155550140', body: 'once' }, h);
    const b = await t.request('POST', '/v1/messages', { to: '+14155550140', body: 'once' }, h);
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.json.id).toBe(a.json.id);
    expect(b.headers['idempotent-replayed']).toBe('true');
    const c = await t.request('POST', '/v1/messages', { to: '+14155550140', body: 'twice' }, h);
    expect(c.status).toBe(409);
    expect(c.json.error.code).toBe('IDEMPOTENCY_CONFLICT');
    const n = await t.gw.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM messages WHERE idempotency_key = $1',
      [h['idempotency-key']],
    );
    expect(n.rows[0]!.n).toBe(1);
  });

  it('answers bad input with a 4xx, a stable code and a readable message', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ to: 'abc', body: 'x' }, 400, 'INVALID_TO_NUMBER'],
      [{ to: '+14155550150', body: '' }, 400, 'BODY_EMPTY'],
      [{ to: '+14155550150' }, 400, 'VALIDATION_FAILED'],
      [{ to: '+14155550150', body: 'x', colour: 'red' }, 400, 'VALIDATION_FAILED'],
      [{ to: '+14155550150', body: 'x', sendAt: 'tomorrow' }, 400, 'INVALID_SEND_AT'],
      [{ to: '+14155550150', body: 'x', statusCallback: 'ftp://x' }, 400, 'INVALID_CALLBACK_URL'],
      [{ to: '+14155550150', body: 'x'.repeat(2000) }, 400, 'BODY_TOO_LONG'],
      [{ to: '+14155550150', body: 'x', from: '+12025550199' }, 404, 'NUMBER_NOT_FOUND'],
      [{ to: '+14155550150', body: 'x', metadata: { big: 'x'.repeat(5000) } }, 400, 'METADATA_TOO_LARGE'],
    ];
    for (const [body, status, code] of cases) {
      const r = await t.request('POST', '/v1/messages', body, auth);
      expect({ status: r.status, code: r.json.error?.code }, JSON.stringify(body).slice(0, 60)).toEqual({
        status,
        code,
      });
      expect(r.json.error.message.length).toBeGreaterThan(5);
      expect(JSON.stringify(r.json)).not.toMatch(/at .*\.ts:\d+/);
    }
    expect((await t.request('POST', '/v1/messages', '{"to":', auth)).status).toBe(400);
    expect((await t.request('POST', '/v1/messages', { to: '+1', body: 'x' })).json.error.code).toBe(
      'UNAUTHORIZED',
    );
    expect(
      (await t.request('POST', '/v1/messages', { to: '+1', body: 'x' }, { authorization: 'Bearer nope' }))
        .status,
    ).toBe(401);
    expect((await t.request('GET', '/v1/messages/not-a-uuid', undefined, auth)).status).toBe(404);
    expect(
      (await t.request('POST', '/v1/admin/accounts', { name: 'x' }, { authorization: 'Bearer wrong' }))
        .status,
    ).toBe(401);
  });

  it('dry-runs the encoding', async () => {
    const r = await t.request('POST', '/v1/messages/encode', { body: `Price 5€ — ${'y'.repeat(70)}` }, auth);
    expect(r.json).toMatchObject({ encoding: 'ucs2', segments: 2, charactersForcingUcs2: ['—'] });
    expect(r.json.parts[0].octets).toBe(6 + 67 * 2);
    const g = await t.request('POST', '/v1/messages/encode', { body: 'plain {text}' }, auth);
    expect(g.json).toMatchObject({ encoding: 'gsm7', dataCoding: 0, segments: 1, charactersForcingUcs2: [] });
  });

  it('lists with filters and cursor pagination, newest first', async () => {
    const to = '+14155550160';
    const batch = await t.request(
      'POST',
      '/v1/messages/batch',
      { messages: Array.from({ length: 7 }, (_, i) => ({ to, body: `page ${i}` })) },
      auth,
    );
    await t.waitFinal(batch.json.results.map((x: { id: string }) => x.id));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/v1/messages?to=${encodeURIComponent(to)}&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await t.request('GET', q, undefined, auth);
      expect(r.status).toBe(200);
      seen.push(...r.json.data.map((m: { id: string }) => m.id));
      cursor = r.json.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual(batch.json.results.map((x: { id: string }) => x.id).sort());
    const delivered = await t.request(
      'GET',
      `/v1/messages?status=delivered&to=${encodeURIComponent(to)}`,
      undefined,
      auth,
    );
    expect(delivered.json.data).toHaveLength(7);
    expect(
      (await t.request('GET', '/v1/messages?status=sent&to=%2B14155550160', undefined, auth)).json.data,
    ).toHaveLength(0);
    expect((await t.request('GET', '/v1/messages?cursor=garbage', undefined, auth)).json.error.code).toBe(
      'INVALID_CURSOR',
    );
  });

  it('keeps tenants apart: foreign ids are 404, lists are scoped, foreign numbers cannot send', async () => {
    const other = await t.createAccount('Other', '+15550109999');
    const mine = await t.request('POST', '/v1/messages', { to: '+14155550170', body: 'private' }, auth);
    const theirs = { authorization: `Bearer ${other.apiKey}` };
    expect((await t.request('GET', `/v1/messages/${mine.json.id}`, undefined, theirs)).status).toBe(404);
    const list = await t.request('GET', '/v1/messages?limit=200', undefined, theirs);
    expect(list.json.data).toHaveLength(0);
    const steal = await t.request(
      'POST',
      '/v1/messages',
      { to: '+14155550171', body: 'x', from: t.account.number },
      theirs,
    );
    expect(steal.status).toBe(404);
    expect(steal.json.error.code).toBe('NUMBER_NOT_FOUND');
    const numbers = await t.request('GET', '/v1/numbers', undefined, theirs);
    expect(numbers.json.data.map((n: { number: string; type: string }) => [n.number, n.type])).toEqual([
      ['+15550109999', 'local'],
    ]);
    const dup = await t.request(
      'POST',
      '/v1/admin/numbers',
      { accountId: other.id, number: t.account.number, type: 'local' },
      { authorization: `Bearer ${ADMIN_TOKEN}` },
    );
    expect(dup.status).toBe(409);
  });

  it('schedules with sendAt and sends when due', async () => {
    const sendAt = new Date(Date.now() + 1_500).toISOString();
    const r = await t.request('POST', '/v1/messages', { to: '+14155550180', body: 'later', sendAt }, auth);
    expect(r.json.status).toBe('scheduled');
    const early = await t.request('GET', `/v1/messages/${r.json.id}`, undefined, auth);
    expect(early.json.status).toBe('scheduled');
    await t.waitFinal([r.json.id]);
    const g = await t.request('GET', `/v1/messages/${r.json.id}`, undefined, auth);
    expect(g.json.status).toBe('delivered');
    expect(new Date(g.json.parts[0].submittedAt).getTime()).toBeGreaterThanOrEqual(
      new Date(sendAt).getTime() - 50,
    );
  });

  it('stores inbound messages for the account that owns the number, reassembled', async () => {
    t.sim.injectMo({ from: '+14155550199', to: t.account.number, text: 'STOP' });
    t.sim.injectMo({
      from: '+14155550198',
      to: t.account.number,
      text: 'Ответ '.repeat(30),
      encoding: 'ucs2',
      segments: 3,
    });
    t.sim.injectMo({ from: '+14155550197', to: '+19995550000', text: 'to nobody' });
    type Row = { from_e164: string; body: string; segments: number; account_id: string | null };
    let rows: Row[] = [];
    await waitFor(
      () => rows.length === 3,
      5_000,
      'three inbound rows',
      async () => {
        rows = (
          await t.gw.db.query<Row>(
            "SELECT from_e164, body, segments, account_id FROM inbound_messages WHERE from_e164 LIKE '+1415555019%' ORDER BY from_e164 DESC",
          )
        ).rows;
      },
    );
    expect(rows[0]).toMatchObject({
      from_e164: '+14155550199',
      body: 'STOP',
      segments: 1,
      account_id: t.account.id,
    });
    expect(rows[1]).toMatchObject({ body: 'Ответ '.repeat(30), segments: 3, account_id: t.account.id });
    expect(rows[2]!.account_id).toBeNull();
  });

  it('serves health, metrics and OpenAPI', async () => {
    expect((await t.request('GET', '/health/live')).status).toBe(200);
    const ready = await t.request('GET', '/health/ready');
    expect(ready.json).toEqual({
      ok: true,
      degraded: false,
      checks: { database: true, carriers: { sim: { healthy: 1, bound: 1, receivers: 1, binds: 1 } } },
    });
    const m = await t.request('GET', '/metrics');
    expect(m.json).toMatch(/parley_messages_accepted_total \d+/);
    expect(m.json).toMatch(/parley_smpp_binds\{carrier="sim",state="bound"\} 1/);
    const docs = await t.request('GET', '/docs/json');
    expect(docs.json.paths['/v1/messages']).toBeDefined();
    expect(docs.json.paths['/v1/messages/batch']).toBeDefined();
  });
});
