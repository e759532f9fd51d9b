import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectSse, type SseClient, type SseEvent } from '../helpers/sse.ts';

const gateways: TestGateway[] = [];
const clients: SseClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const g of gateways.splice(0).reverse()) await g.stop();
});

async function listen(g: TestGateway): Promise<string> {
  const address = await g.gw.http.listen({ port: 0, host: '127.0.0.1' });
  return address;
}

async function sse(base: string, key: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const c = await connectSse(`${base}/v1/events`, { authorization: `Bearer ${key}`, ...headers });
  clients.push(c);
  return c;
}

const ofType = (events: SseEvent[], type: string) => events.filter((e) => e.event === type);
const ids = (events: SseEvent[]) => events.filter((e) => e.id !== undefined).map((e) => Number(e.id));

describe('live inbox (GET /v1/events)', () => {
  it('streams MO, conversation, status and consent events in order; resumes exactly after Last-Event-ID', async () => {
    const g = await startTestGateway({
      file: import.meta.filename,
      env: { PARLEY_EVENTS_HEARTBEAT_MS: '200' },
    });
    gateways.push(g);
    const base = await listen(g);
    const auth = { authorization: `Bearer ${g.account.apiKey}` };
    const c = await sse(base, g.account.apiKey);
    expect(c.status).toBe(200);
    await c.until((e) => e[0]?.event === 'ready', 'ready');
    expect(c.events[0]!.data).toEqual({ after: 0 });

    const ann = '+14155550401';
    g.sim.injectMo({ from: ann, to: g.account.number, text: 'hello there' });
    await c.until((e) => ofType(e, 'conversation.updated').length === 1, 'the MO and its thread');
    const [mo] = ofType(c.events, 'message.inbound');
    expect(mo!.data).toMatchObject({ from: ann, to: g.account.number, body: 'hello there', complete: true });
    const [conv] = ofType(c.events, 'conversation.updated');
    expect(conv!.data).toMatchObject({ contact: { number: ann }, unreadCount: 1, lastDirection: 'inbound' });
    expect(mo!.data.conversationId).toBe(conv!.data.id);

    // A reply in the thread: the thread moves, its statuses follow.
    const r = await g.request(
      'POST',
      `/v1/conversations/${conv!.data.id}/messages`,
      { body: 'hi Ann' },
      auth,
    );
    expect(r.status).toBe(202);
    await c.until(
      (e) =>
        ofType(e, 'message.status').some((s) => s.data.id === r.json.id && s.data.status === 'delivered'),
      'the reply delivered',
    );
    expect(ofType(c.events, 'message.status').map((s) => s.data.status)).toEqual(['sent', 'delivered']);
    await g.request('POST', `/v1/conversations/${conv!.data.id}/read`, undefined, auth);
    await c.until((e) => ofType(e, 'conversation.updated').some((x) => x.data.unreadCount === 0), 'read');

    // A bulk send to someone without a thread is not inbox news.
    const bulk = await g.request('POST', '/v1/messages', { to: '+14155550499', body: 'promo' }, auth);
    await g.waitFinal([bulk.json.id]);

    g.sim.injectMo({ from: ann, to: g.account.number, text: 'STOP' });
    await c.until((e) => ofType(e, 'contact.opted_out').length === 1, 'opted out');
    expect(ofType(c.events, 'contact.opted_out')[0]!.data).toMatchObject({
      contact: { number: ann },
      source: 'keyword',
      keyword: 'STOP',
    });
    // The confirmation reply's statuses come too (it is sent in the thread).
    await c.until((e) => ofType(e, 'message.status').length >= 4, 'the confirmation delivered');
    expect(ofType(c.events, 'message.status').every((s) => s.data.to === ann)).toBe(true);
    // Heartbeats keep idle proxies open.
    await c.until(() => c.comments >= 2, 'heartbeats');

    // Numbers are 1, 2, 3… without gaps or repeats.
    const seen = ids(c.events);
    expect(seen).toEqual(seen.map((_, i) => i + 1));

    // Resume from the middle: exactly what followed, nothing twice.
    const mid = seen[Math.floor(seen.length / 2)]!;
    const again = await sse(base, g.account.apiKey, { 'last-event-id': String(mid) });
    await again.until((e) => ids(e).length === seen.length - mid, 'the rest');
    expect(ids(again.events)).toEqual(seen.filter((n) => n > mid));
    expect(again.events.filter((e) => e.id).map((e) => [e.event, e.data])).toEqual(
      c.events.filter((e) => e.id && Number(e.id) > mid).map((e) => [e.event, e.data]),
    );
    // Resuming after everything: nothing replayed.
    const atHead = await sse(base, g.account.apiKey, { 'last-event-id': String(seen.at(-1)) });
    await atHead.until((e) => e[0]?.event === 'ready', 'ready');
    expect(atHead.events[0]!.data).toEqual({ after: seen.at(-1) });

    // Hostile or foreign: 400, 401, and another account sees none of it.
    for (const bad of ['abc', '-1', '1e5', '99999999999999999999', '1, 2']) {
      const x = await sse(base, g.account.apiKey, { 'last-event-id': bad });
      expect([x.status, x.events[0]!.data.error.code], bad).toEqual([400, 'VALIDATION_FAILED']);
    }
    expect((await sse(base, 'pk_nope')).status).toBe(401);
    const other = await g.createAccount('Other', '+15550107702');
    const theirs = await sse(base, other.apiKey, { 'last-event-id': '0' });
    await theirs.until((e) => e[0]?.event === 'ready', 'ready');
    g.sim.injectMo({ from: '+14155550402', to: other.number, text: 'for other' });
    await theirs.until((e) => ofType(e, 'message.inbound').length === 1, 'their MO');
    expect(theirs.events.every((e) => !e.id || e.data.to === other.number || e.data.contact)).toBe(true);
    expect(c.events.some((e) => e.data?.to === other.number)).toBe(false);
  });

  it('fans out across instances: a client on either instance sees every MO, whichever instance stored it', async () => {
    const a = await startTestGateway({ file: import.meta.filename, redis: true });
    gateways.push(a);
    const b = await startTestGateway({
      file: import.meta.filename,
      redis: true,
      shared: { schema: a.schema, sim: a.sim },
      noAccount: true,
    });
    gateways.push(b);
    const [ua, ub] = [await listen(a), await listen(b)];
    const ca = await sse(ua, a.account.apiKey);
    const cb = await sse(ub, a.account.apiKey);
    await ca.until((e) => e[0]?.event === 'ready', 'ready a');
    await cb.until((e) => e[0]?.event === 'ready', 'ready b');
    const n = 40;
    for (let i = 0; i < n; i++)
      a.sim.injectMo({ from: `+1415555${String(1000 + i)}`, to: a.account.number, text: `mo ${i}` });
    const done = (e: SseEvent[]) => ofType(e, 'message.inbound').length === n;
    await ca.until(done, `${n} MO on a`, 20_000);
    await cb.until(done, `${n} MO on b`, 20_000);
    expect(ids(ca.events)).toEqual(ids(cb.events));
    expect(new Set(ofType(cb.events, 'message.inbound').map((e) => e.data.body)).size).toBe(n);
    // Both instances received MO (the simulator spreads them over the binds).
    const r = await a.gw.db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbound_messages');
    expect(r.rows[0]!.n).toBe(n);
  });
});
