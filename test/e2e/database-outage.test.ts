import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { databaseUrl } from '../helpers/services.ts';
import { waitFor } from '../helpers/smpp.ts';
import { TcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';

/** How long the database is down in the outage test (the issue asks for 30 s). */
const OUTAGE_MS = Number(process.env.PARLEY_TEST_OUTAGE_MS ?? 30_000);

let t: TestGateway | undefined;
let proxy: TcpProxy | undefined;
afterEach(async () => {
  proxy?.up();
  await t?.stop();
  await proxy?.stop();
  t = undefined;
  proxy = undefined;
});

async function start(extraEnv: Record<string, string> = {}): Promise<TestGateway> {
  const base = new URL(await databaseUrl());
  proxy = new TcpProxy(base.hostname, Number(base.port || 5432));
  await proxy.start();
  t = await startTestGateway({
    file: import.meta.filename,
    dbUrl: viaProxy(base.toString(), proxy),
    scenario: { ...(await import('../../simulator/scenario.ts')).namedScenario('slow-receipts') },
    env: {
      PARLEY_DB_CONNECT_TIMEOUT_MS: '1000',
      PARLEY_DB_STATEMENT_TIMEOUT_MS: '3000',
      PARLEY_READY_TIMEOUT_MS: '1000',
      PARLEY_AUTH_CACHE_MS: '500',
      ...extraEnv,
    },
  });
  return t;
}

/** Sends load until stopped; records every status and the ids the gateway accepted (202 = committed). */
function load(g: TestGateway) {
  const statuses = new Map<number, number>();
  const codes = new Map<string, number>();
  const accepted: string[] = [];
  let running = true;
  let n = 0;
  const auth = { authorization: `Bearer ${g.account.apiKey}` };
  const loop = (async () => {
    while (running) {
      const i = n++;
      const single = g.request(
        'POST',
        '/v1/messages',
        { to: `+1415557${String(1000 + (i % 9000))}`, body: `load ${i}` },
        auth,
      );
      const batch = g.request(
        'POST',
        '/v1/messages/batch',
        {
          messages: Array.from({ length: 20 }, (_, j) => ({
            to: `+1415558${String(1000 + ((i * 20 + j) % 9000))}`,
            body: `b ${i}/${j}`,
          })),
        },
        auth,
      );
      const read = g.request('GET', '/v1/messages?limit=5', undefined, auth);
      for (const r of await Promise.all([single, batch, read])) {
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status >= 400) codes.set(r.json?.error?.code, (codes.get(r.json?.error?.code) ?? 0) + 1);
        if (r.status === 202) accepted.push(r.json.id);
        if (r.status === 200 && Array.isArray(r.json?.results))
          for (const x of r.json.results) if (x.id) accepted.push(x.id);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    statuses,
    codes,
    accepted,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

describe('the database goes away under load', () => {
  // Regression (issue 6): PostgreSQL closing a connection while a transaction held a client killed
  // the process (no 'error' listener on checked-out clients): 2 of 3 connection-loss runs crashed.
  it('survives connections dropped mid-transaction three times and loses nothing accepted', async () => {
    const g = await start();
    const l = load(g);
    await waitFor(() => l.accepted.length > 200, 10_000, 'traffic flowing');
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 700));
      expect(proxy!.cut()).toBeGreaterThan(0);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    await l.stop();
    expect(l.statuses.get(500) ?? 0).toBe(0);
    for (const code of l.codes.keys()) expect(['DATABASE_UNAVAILABLE', 'OVERLOADED']).toContain(code);
    const final = await g.waitFinal(l.accepted, 60_000);
    expect([...final.values()].filter((m) => m.status !== 'delivered')).toEqual([]);
  }, 120_000);

  // Regression (issue 6): during an outage 68 of 69 failed requests answered 500 INTERNAL instead
  // of 503, authentication included, and /health/ready never answered.
  it(
    `rides out a ${OUTAGE_MS / 1000} s outage with 503s, answers readiness, recovers by itself, loses nothing accepted`,
    async () => {
      const g = await start();
      // A second key, verified once and then only in the database (its cache runs out in the outage).
      const key = await g.request(
        'POST',
        '/v1/api-keys',
        {},
        { authorization: `Bearer ${g.account.apiKey}` },
      );
      const l = load(g);
      await waitFor(() => l.accepted.length > 200, 10_000, 'traffic flowing');
      const acceptedBefore = l.accepted.length;
      proxy!.down();
      const outageStart = Date.now();
      const during: number[] = [];
      while (Date.now() - outageStart < OUTAGE_MS) {
        const t0 = performance.now();
        const ready = await g.request('GET', '/health/ready');
        expect(performance.now() - t0).toBeLessThan(2_500);
        during.push(ready.status);
        const authed = await g.request('GET', '/v1/numbers', undefined, {
          authorization: `Bearer ${key.json.apiKey}`,
        });
        if (Date.now() - outageStart > 2_000) {
          expect(authed.status).toBe(503);
          expect(authed.json.error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', action: 'retry' });
        }
        await new Promise((r) => setTimeout(r, 1_000));
      }
      expect(during.filter((s) => s === 503).length).toBeGreaterThan(during.length / 2);
      proxy!.up();
      const acceptedDuring = l.accepted.length;
      await waitFor(
        () => l.accepted.length > acceptedDuring + 100,
        30_000,
        'accepting again after the outage',
      );
      await l.stop();
      expect(l.statuses.get(500) ?? 0).toBe(0);
      expect(l.statuses.get(503) ?? 0).toBeGreaterThan(0);
      for (const code of l.codes.keys()) expect(['DATABASE_UNAVAILABLE', 'OVERLOADED']).toContain(code);
      expect(acceptedBefore).toBeGreaterThan(0);
      const final = await g.waitFinal(l.accepted, 90_000);
      expect([...final.values()].filter((m) => m.status !== 'delivered')).toEqual([]);
      expect((await g.request('GET', '/health/ready')).status).toBe(200);
    },
    OUTAGE_MS + 180_000,
  );

  // Regression (issue 6): the pool had no connect or statement timeout: a hung database blocked
  // requests for 26 s and /health/ready never answered.
  it('answers 503 quickly when the database hangs, and recovers', async () => {
    const g = await start();
    const auth = { authorization: `Bearer ${g.account.apiKey}` };
    expect(
      (await g.request('POST', '/v1/messages', { to: '+14155550123', body: 'before' }, auth)).status,
    ).toBe(202);
    proxy!.hang();
    await new Promise((r) => setTimeout(r, 600)); // the auth cache runs out
    const t0 = performance.now();
    const [send, read, ready] = await Promise.all([
      g.request('POST', '/v1/messages', { to: '+14155550123', body: 'during' }, auth),
      g.request('GET', '/v1/messages', undefined, auth),
      g.request('GET', '/health/ready'),
    ]);
    const ms = performance.now() - t0;
    expect(send.status).toBe(503);
    expect(read.status).toBe(503);
    expect(ready.status).toBe(503);
    expect(ms).toBeLessThan(6_000);
    proxy!.up();
    let ok = 0;
    await waitFor(
      () => ok === 202,
      20_000,
      'accepting after the hang',
      async () => {
        ok = (await g.request('POST', '/v1/messages', { to: '+14155550123', body: 'after' }, auth)).status;
      },
    );
  }, 60_000);
});
