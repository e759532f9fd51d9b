import { afterEach, describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../simulator/smsc.ts';
import { createGateway, type Gateway } from '../../src/app.ts';
import { type CarrierConfigInput, parseCarrierConfig } from '../../src/config/carrier-config.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { StatusChange } from '../../src/messaging/model.ts';
import { ALLOW } from '../../src/messaging/pipeline.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { dropSchema, redisMissing, testGatewayEnv, uniqueSchema } from '../helpers/services.ts';
import { silent, waitFor } from '../helpers/smpp.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A gateway with two carriers on two simulators, route failover a → b. `a` may never bind. */
async function twoCarriers(a: Partial<CarrierConfigInput>, b: Partial<CarrierConfigInput>, aBinds = true) {
  const simA = new SmscSimulator({ port: 0, systemId: 'parley', password: 'parley' });
  const simB = new SmscSimulator({ port: 0, systemId: 'parley', password: 'parley' });
  await simA.start();
  await simB.start();
  const config = loadConfig(await testGatewayEnv());
  const base = {
    host: '127.0.0.1',
    systemId: 'parley',
    reconnect: { initialMs: 50, maxMs: 500, multiplier: 2 },
    windowSize: 20,
  };
  config.carriers.push(
    parseCarrierConfig({ ...base, id: 'a', port: simA.port, password: aBinds ? 'parley' : 'wrong', ...a }),
    parseCarrierConfig({ ...base, id: 'b', port: simB.port, password: 'parley', ...b }),
  );
  config.routes.push({ carriers: ['a', 'b'] });
  const schema = uniqueSchema(`${import.meta.filename}-${Math.random()}`);
  const gw: Gateway = await createGateway(config, silent, { schema });
  gw.start();
  const { account, apiKey } = await gw.accounts.createAccount('routes');
  await gw.accounts.addNumber(account.id, '+15550106603', 'local');
  cleanups.push(async () => {
    await gw.stop();
    await simA.stop();
    await simB.stop();
    await dropSchema(schema);
  });
  await waitFor(
    () => gw.carriers[1]!.healthyTransmitters > 0 && (!aBinds || gw.carriers[0]!.healthyTransmitters > 0),
    5_000,
    'binds',
  );
  const send = async (body: string) => {
    const r = await gw.http.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      payload: { to: '+14155550123', body },
    });
    expect(r.statusCode).toBe(202);
    const id = r.json().id as string;
    let status = '';
    await waitFor(
      () => status === 'delivered',
      10_000,
      'delivered',
      async () => {
        status = (await gw.db.query<{ status: string }>('SELECT status FROM messages WHERE id = $1', [id]))
          .rows[0]!.status;
      },
    );
    return r.json() as { id: string; segments: number; encoding: string };
  };
  return { gw, simA, simB, send };
}

const LONG = 'Parley encodes for the carrier that takes the message. '.repeat(6); // 3 GSM parts of 153

describe('encoding follows the carrier (its profile is validated and takes effect)', () => {
  it('encodes for the route’s carrier: IA5 data_coding and 16-bit concatenation references', async () => {
    const { simA, simB, send } = await twoCarriers({ gsmDataCoding: 1, concatRef: '16bit' }, {});
    await send(LONG);
    const got = simA.core.listMessages(10);
    expect(got).toHaveLength(3);
    expect(got.every((m) => m.dataCoding === 1 && m.esmClass === 0x40 && !m.viaPayload)).toBe(true);
    expect(got.map((m) => (m.concat as { seq: number }).seq)).toEqual([1, 2, 3]);
    // A 16-bit reference: the simulator read IEI 8 from the UDH, one reference for all parts.
    expect(got.every((m) => (m.concat as { refBits: number }).refBits === 16)).toBe(true);
    expect(new Set(got.map((m) => (m.concat as { ref: number }).ref)).size).toBe(1);
    expect(simB.core.listMessages(10)).toHaveLength(0);
  });

  it('Latin-1 when the carrier allows it', async () => {
    const { simA, send } = await twoCarriers({ allowLatin1: true }, {});
    const r = await send('Crème brûlée à côté');
    expect(r.encoding).toBe('latin1');
    expect(simA.core.listMessages(1)[0]).toMatchObject({ dataCoding: 3, text: 'Crème brûlée à côté' });
  });

  it('re-encodes on failover: stored as UDH parts for a, sent as one message_payload to b (IA5)', async () => {
    const { simB, send } = await twoCarriers({}, { longMessageMode: 'payload', gsmDataCoding: 1 }, false);
    const r = await send(LONG);
    expect(r.segments).toBe(3);
    const got = simB.core.listMessages(10);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ viaPayload: true, dataCoding: 1, esmClass: 0, text: LONG });
  });

  it('re-encodes on failover: stored as one message_payload for a, sent as UDH parts to b', async () => {
    const { simB, send } = await twoCarriers({ longMessageMode: 'payload' }, {}, false);
    await send(LONG);
    const got = simB.core.listMessages(10);
    expect(got).toHaveLength(3);
    expect(got.every((m) => !m.viaPayload && m.esmClass === 0x40 && m.dataCoding === 0)).toBe(true);
    expect(got.map((m) => m.text).join('')).toBe(LONG);
  });

  it('adapts only the data_coding when the split is the same', async () => {
    const { simB, send } = await twoCarriers({}, { gsmDataCoding: 1 }, false);
    await send('short and simple');
    expect(simB.core.listMessages(1)[0]).toMatchObject({ dataCoding: 1, text: 'short and simple' });
  });
});

describe('policies plug into the pipeline at accept and at dispatch', () => {
  let t: TestGateway;
  afterEach(async () => t?.stop());

  it('a dispatch policy can defer (the message waits in the database, holding no lease) and stop a message', async () => {
    t = await startTestGateway({ file: import.meta.filename });
    // Held until the test has looked (not until a time: a slow machine must not let it through early).
    let holding = true;
    let deferred = 0;
    t.gw.dispatchPipeline.use({
      name: 'test-hold',
      decide: (seg) => {
        if (seg.to !== '+14155550111' || !holding) return ALLOW;
        deferred++;
        return { kind: 'defer', until: new Date(Date.now() + 300), reason: 'scheduled' };
      },
    });
    t.gw.dispatchPipeline.use({
      name: 'test-block',
      decide: (seg) =>
        seg.to === '+14155550222'
          ? { kind: 'reject', code: 'X', message: 'blocked', status: 'failed', reason: 'carrier_rejected' }
          : ALLOW,
    });
    const auth = { authorization: `Bearer ${t.account.apiKey}` };
    const held = (await t.request('POST', '/v1/messages', { to: '+14155550111', body: 'later' }, auth)).json
      .id;
    const blocked = (await t.request('POST', '/v1/messages', { to: '+14155550222', body: 'never' }, auth))
      .json.id;
    await waitFor(() => deferred >= 1, 10_000, 'the policy deferred the message');
    // The deferral is written back: queued, no lease held, no attempt counted.
    let waiting: Record<string, unknown> = {};
    await waitFor(
      () => waiting.status === 'queued' && waiting.lease_owner === null,
      10_000,
      'the deferred segment back in the queue',
      async () => {
        waiting = (
          await t!.gw.db.query<Record<string, unknown>>(
            'SELECT status, lease_owner, attempts FROM segments WHERE message_id = $1',
            [held],
          )
        ).rows[0]!;
      },
    );
    expect(waiting).toMatchObject({ status: 'queued', lease_owner: null, attempts: 0 });
    holding = false;
    const final = await t.waitFinal([held, blocked]);
    expect(final.get(held).status).toBe('delivered');
    expect(final.get(blocked).status).toBe('failed');
    expect(t.sim.core.listMessages(100).map((m) => m.to)).not.toContain('14155550222');
    expect(t.sim.core.listMessages(100).filter((m) => m.to === '14155550111')).toHaveLength(1);
  });

  it('an accept policy can change the body before it is encoded and stored', async () => {
    t = await startTestGateway({ file: import.meta.filename });
    t.gw.acceptPipeline.use({
      name: 'test-footer',
      decide: (c) => ({ kind: 'transform', body: `${c.body} Reply STOP to opt out` }),
    });
    const r = await t.request(
      'POST',
      '/v1/messages',
      { to: '+14155550123', body: 'Hi' },
      { authorization: `Bearer ${t.account.apiKey}` },
    );
    await t.waitFinal([r.json.id]);
    expect(t.sim.core.listMessages(1)[0]!.text).toBe('Hi Reply STOP to opt out');
  });
});

describe('typed events', () => {
  it('are published per write and reach other instances through Redis', async (ctx) => {
    const missing = redisMissing();
    if (missing) ctx.skip(missing);
    const a = await startTestGateway({ file: import.meta.filename, redis: true });
    const b = await startTestGateway({
      file: import.meta.filename,
      redis: true,
      shared: { schema: a.schema, sim: a.sim },
      carrier: { binds: [{ mode: 'rx', count: 1 }] },
    });
    cleanups.push(async () => {
      await b.gw.stop();
      await a.stop();
    });
    const local: StatusChange[] = [];
    const remote: StatusChange[] = [];
    b.gw.bus.subscribe('message.status', (evs, origin) =>
      (origin === 'remote' ? remote : local).push(...evs),
    );
    const r = await a.request(
      'POST',
      '/v1/messages',
      { to: '+14155550123', body: 'evented' },
      { authorization: `Bearer ${a.account.apiKey}` },
    );
    await a.waitFinal([r.json.id]);
    await waitFor(
      () => remote.some((e) => e.messageId === r.json.id && e.status === 'sent'),
      5_000,
      'remote events at b',
    );
    expect(remote.find((e) => e.status === 'sending')).toMatchObject({
      messageId: r.json.id,
      accountId: a.account.id,
    });
  });

  it('feed the metrics: process metrics once prefixed, callbacks counted', async () => {
    const t = await startTestGateway({ file: import.meta.filename });
    cleanups.push(() => t.stop());
    const m = (await t.request('GET', '/metrics')).json as string;
    expect(m).toMatch(/^parley_process_cpu_seconds_total /m);
    expect(m).toMatch(/^parley_nodejs_heap_size_used_bytes /m);
    expect(m).not.toMatch(/parley_process_process_|parley_process_nodejs_/);
  });

  it('time every batched database write, by writer: accept, claim, outcomes and receipts of one message', async () => {
    const t = await startTestGateway({ file: import.meta.filename });
    cleanups.push(() => t.stop());
    const r = await t.request(
      'POST',
      '/v1/messages',
      { to: '+14155550124', body: 'timed' },
      { authorization: `Bearer ${t.account.apiKey}` },
    );
    expect(r.status).toBe(202);
    await t.waitFinal([r.json.id]);
    const m = (await t.request('GET', '/metrics')).json as string;
    const value = (re: RegExp) => Number(m.match(re)?.[1] ?? Number.NaN);
    expect(value(/^parley_db_write_items_total\{writer="accept",result="ok"\} (\d+)/m)).toBe(1);
    expect(value(/^parley_db_write_items_total\{writer="claim",result="ok"\} (\d+)/m)).toBeGreaterThanOrEqual(
      1,
    );
    for (const writer of ['accept', 'claim', 'outcomes', 'receipts'])
      expect(
        value(
          new RegExp(
            `^parley_db_write_duration_seconds_count\\{writer="${writer}",result="ok"\\} (\\d+)`,
            'm',
          ),
        ),
      ).toBeGreaterThanOrEqual(1);
  });
});
