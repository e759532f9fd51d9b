/**
 * Mixed traffic for the observability tests: sends with status callbacks (some refused by the
 * receiver), carrier failures and throttling, rate-limit deferrals, MO of every kind (plain,
 * STOP, START, HELP), a send to an opted-out contact, a quiet-hours deferral, tracked links
 * followed by a person and a bot, unknown and malformed receipts, and a dropped bind.
 */
import http from 'node:http';
import type net from 'node:net';
import { applyScenario, namedScenario, type Scenario } from '../../simulator/scenario.ts';
import { startTestGateway, type TestGateway } from './gateway.ts';
import { waitFor } from './smpp.ts';

/** Failures of every kind (541: over the limit), throttling past 5 submits a second, some malformed deliver_sm. */
export const MIXED_SCENARIO: Scenario = applyScenario(namedScenario('default'), {
  name: 'mixed-traffic',
  receipts: {
    minMs: 5,
    maxMs: 40,
    outcomes: { DELIVRD: 0.8, UNDELIV: 0.1, EXPIRED: 0.05, REJECTD: 0.05 },
    errorCodes: { UNDELIV: 541, EXPIRED: 27, REJECTD: 11 },
  },
  faults: { throughputLimit: 5, rejectProbability: 0.05, malformedDeliverProbability: 0.03 },
});

const pad = (n: number) => String(n).padStart(2, '0');

export interface Traffic {
  g: TestGateway;
  auth: Record<string, string>;
  /** One round of everything; `n` keeps the numbers of each round apart. */
  round(n: number): Promise<void>;
  stop(): Promise<void>;
}

/** A gateway (with its own simulator) set up for mixed traffic, and a callback receiver failing 1 in 4. */
export async function mixedTraffic(file: string, env: Record<string, string> = {}): Promise<Traffic> {
  let calls = 0;
  const hooks = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(calls++ % 4 === 0 ? 500 : 204).end());
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  const g = await startTestGateway({
    file,
    scenario: MIXED_SCENARIO,
    env: {
      PARLEY_WEBHOOK_ALLOW_NETWORKS: '127.0.0.1/32',
      PARLEY_WEBHOOK_BACKOFF_MS: '50',
      // Receipts for ids never submitted are parked, then counted unmatched when the park expires.
      PARLEY_RECEIPT_PARK_TTL_MS: '500',
      // Deferrals: the account's number held to 40 segments a second.
      PARLEY_RATE_LIMITS: 'on',
      PARLEY_RATE_LIMIT_OVERRIDES: JSON.stringify({ numberPerSecond: { local: 40 } }),
      PARLEY_LINK_BASE_URL: 'https://pl.test/l/',
      ...env,
    },
  });
  const auth = { authorization: `Bearer ${g.account.apiKey}` };
  const callback = `http://127.0.0.1:${(hooks.address() as net.AddressInfo).port}/hook`;
  // Quiet hours: the window holds the current UTC hour and the next; recipients in UTC get their
  // messages now, the contact in Asia/Dhaka (UTC+6) is outside it: its message is deferred.
  const h = new Date().getUTCHours();
  const window =
    h <= 21 ? { start: `${pad(h)}:00`, end: `${pad(h + 2)}:00` } : { start: '20:00', end: '23:59' };
  const put = await g.request(
    'PUT',
    '/v1/settings/messaging-compliance',
    { quietHours: { enabled: true, timeZone: 'UTC', ...window } },
    auth,
  );
  if (put.status !== 200) throw new Error(`settings refused: ${JSON.stringify(put.json)}`);

  const round = async (n: number) => {
    const batch = Array.from({ length: 30 }, (_, i) => ({
      to: `+1415555${String(2000 + n * 30 + i)}`,
      body: i % 5 === 0 ? `offer ${n}-${i} https://shop.example.com/p/${i}` : `dash ${n}-${i}`,
      statusCallback: callback,
      trackLinks: true,
    }));
    // A contact's zone decides (the area code's would depend on the hour the test runs).
    const night = `+1415556${String(1000 + n)}`;
    await g.request('POST', '/v1/contacts', { number: night, timeZone: 'Asia/Dhaka' }, auth);
    for (const m of batch) await g.request('POST', '/v1/contacts', { number: m.to, timeZone: 'UTC' }, auth);
    const sent = await g.request('POST', '/v1/messages/batch', { messages: batch }, auth);
    const results = sent.json.results as Array<{ id?: string; error?: unknown }>;
    if (results.some((x) => x.error))
      throw new Error(`refused: ${JSON.stringify(results.filter((x) => x.error))}`);
    const deferred = await g.request('POST', '/v1/messages', { to: night, body: 'at night' }, auth);
    if (deferred.json.status !== 'scheduled')
      throw new Error(`not deferred: ${JSON.stringify(deferred.json)}`);
    await g.waitFinal(
      results.map((x) => x.id!),
      60_000,
    );
    // Links: a person twice, a link-preview bot once.
    const codes = (
      await g.gw.db.query<{ code: string }>('SELECT code FROM links WHERE message_id = ANY($1::uuid[])', [
        results.map((x) => x.id!),
      ])
    ).rows.map((r) => r.code);
    for (const [i, code] of codes.entries())
      await g.gw.http.inject({
        method: 'GET',
        url: `/l/${code}`,
        headers: { 'user-agent': i === 0 ? 'facebookexternalhit/1.1' : 'Mozilla/5.0 (iPhone; Mobile)' },
      });
    // MO of every kind; then a send to the contact who opted out is refused.
    const stop = `+1415555${String(3100 + n)}`;
    g.sim.injectMo({ from: `+1415555${String(3000 + n)}`, to: g.account.number, text: `reply ${n}` });
    g.sim.injectMo({ from: `+1415555${String(3200 + n)}`, to: g.account.number, text: 'HELP' });
    g.sim.injectMo({ from: stop, to: g.account.number, text: 'STOP' });
    let optedOut = false;
    await waitFor(
      () => optedOut,
      10_000,
      'the STOP applied',
      async () => {
        const r = await g.request('POST', '/v1/messages', { to: stop, body: 'still there?' }, auth);
        optedOut = r.status === 422;
      },
    );
    g.sim.injectMo({ from: `+1415555${String(3300 + n)}`, to: g.account.number, text: 'STOP' });
    g.sim.injectMo({ from: `+1415555${String(3300 + n)}`, to: g.account.number, text: 'START' });
    await g.sim.core.flood('unknown-receipts', 5, 100);
  };

  return {
    g,
    auth,
    round,
    stop: async () => {
      await g.stop();
      await new Promise((r) => hooks.close(r));
    },
  };
}

/** Drops every bind at the simulator and waits until the gateway is bound again. */
export async function dropBinds(g: TestGateway): Promise<void> {
  g.sim.core.unbindAll();
  await waitFor(
    () => g.gw.carriers.every((c) => c.boundTransmitters === c.binds.filter((b) => b.mode !== 'rx').length),
    10_000,
    'binds back',
  );
}
