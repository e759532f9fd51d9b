import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { applyScenario, DEFAULT_SCENARIO, namedScenario } from '../../simulator/scenario.ts';
import {
  childAccount,
  freshDatabase,
  startGatewayProcess,
  startSimProcess,
} from '../helpers/child-gateway.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { Child } from '../helpers/processes.ts';
import { waitFor } from '../helpers/smpp.ts';

let t: TestGateway | undefined;
const children: Child[] = [];
const drops: Array<() => Promise<void>> = [];
afterEach(async () => {
  await t?.stop();
  t = undefined;
});
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  for (const d of drops) await d().catch(() => undefined);
});

async function send(g: TestGateway, n: number, extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1000) {
    const r = await g.request(
      'POST',
      '/v1/messages/batch',
      {
        messages: Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
          to: `+1415555${String(1000 + ((i + j) % 9000))}`,
          body: `m ${i + j}`,
          ...extra,
        })),
      },
      { authorization: `Bearer ${g.account.apiKey}` },
    );
    expect(r.status).toBe(200);
    ids.push(...r.json.results.map((x: { id: string }) => x.id));
  }
  return ids;
}

const statuses = (m: Map<string, any>) => {
  const out: Record<string, number> = {};
  for (const v of m.values()) out[v.status] = (out[v.status] ?? 0) + 1;
  return out;
};

describe('receipts: matched, or expired and counted', () => {
  // Regression (issue 6): a deliver_sm with valid framing but a TLV past its end closed the session
  // without an answer; the receipts queued behind it were lost (6–12 messages stuck in sent per run).
  it('answers malformed deliver_sm with an error between valid receipts, keeps the session, loses no receipt', async () => {
    t = await startTestGateway({ file: import.meta.filename, scenario: namedScenario('malformed-deliver') });
    const ids = await send(t, 600);
    const final = await t.waitFinal(ids, 30_000);
    expect(statuses(final)).toEqual({ delivered: 600 });
    expect(t.sim.stats.malformedSent).toBeGreaterThan(5);
    expect(t.sim.stats.deliverRejected).toBe(t.sim.stats.malformedSent);
    expect(t.gw.carriers[0]!.binds[0]!.counters.binds).toBe(1); // never rebound
    const listed = await t.request('GET', '/v1/admin/pdus/rejected?limit=1000', undefined, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(listed.json.data).toHaveLength(t.sim.stats.malformedSent);
    expect(listed.json.data[0]).toMatchObject({ carrierId: 'sim', commandId: 5, answeredStatus: 0xc2 });
    expect(listed.json.data[0].pdu).toMatch(/^[0-9a-f]+$/);
    const m = await t.request('GET', '/metrics');
    expect(m.json).toMatch(
      new RegExp(
        `parley_smpp_pdus_rejected_total\\{carrier="sim",command="deliver_sm"\\} ${t.sim.stats.malformedSent}`,
      ),
    );
  });

  // Regression (issue 6): a base-36 submit id never matched its receipt in decimal: 2,000 of 2,000 stuck in sent.
  it('matches 2,000 receipts whose ids are base 36 in the response and decimal in the receipt', async () => {
    t = await startTestGateway({
      file: import.meta.filename,
      scenario: namedScenario('base36-ids'),
      carrier: { messageIdFormat: { submit: 'base36', receipt: 'decimal' } },
    });
    const ids = await send(t, 2_000);
    const final = await t.waitFinal(ids, 60_000);
    expect(statuses(final)).toEqual({ delivered: 2_000 });
    expect(t.gw.sweeper.stats.unmatched).toBe(0);
  });

  // Regression (issue 6): 0x14 was treated like 0x58: with 2 % queue-full answers, 2,000 messages
  // took 76 s instead of 4.4 s. Relative to a clean run in the same test, not a fixed time.
  it('2 % queue-full answers leave the bind at full pace: near the clean run, every message delivered', async () => {
    const timeRun = async (scenario: typeof DEFAULT_SCENARIO) => {
      const g = await startTestGateway({ file: import.meta.filename, scenario });
      try {
        const t0 = performance.now();
        const ids = await send(g, 2_000);
        const final = await g.waitFinal(ids, 60_000);
        expect(statuses(final)).toEqual({ delivered: 2_000 });
        return {
          ms: performance.now() - t0,
          rate: g.gw.carriers[0]!.binds[0]!.rate,
          qf: g.sim.stats.queueFull,
        };
      } finally {
        await g.stop();
      }
    };
    const clean = await timeRun(DEFAULT_SCENARIO);
    const qf = await timeRun(
      applyScenario(DEFAULT_SCENARIO, {
        name: 'qf2',
        faults: { queueFullProbability: 0.02, queueFullBurstLength: 1 },
      }),
    );
    console.log(
      `2,000 messages: clean ${clean.ms.toFixed(0)} ms, 2 % queue-full ${qf.ms.toFixed(0)} ms (${qf.qf} answers 0x14)`,
    );
    expect(qf.qf).toBeGreaterThan(10);
    expect(qf.rate).toBe(Number.POSITIVE_INFINITY);
    expect(qf.ms).toBeLessThan(clean.ms * 2 + 3_000);
  });

  // Regression (issue 6): nothing finalised a segment whose receipt never came.
  it('ends a sent message unknown (receipt_timeout) when its receipt never comes, with a callback and a count', async () => {
    const bodies: any[] = [];
    const rcv = http.createServer((req, res) => {
      let b = '';
      req.on('data', (c) => {
        b += c;
      });
      req.on('end', () => {
        bodies.push(JSON.parse(b));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => rcv.listen(0, '127.0.0.1', r));
    try {
      t = await startTestGateway({
        file: import.meta.filename,
        scenario: namedScenario('no-receipts'),
        env: {
          PARLEY_RECEIPT_TIMEOUT_MS: '1500',
          PARLEY_LEASE_MS: '2000',
          PARLEY_WEBHOOK_ALLOW_NETWORKS: '127.0.0.1/32',
          PARLEY_WEBHOOK_BACKOFF_MS: '50',
        },
      });
      const cb = `http://127.0.0.1:${(rcv.address() as AddressInfo).port}/cb`;
      const ids = await send(t, 20, { statusCallback: cb });
      const final = await t.waitFinal(ids, 20_000);
      expect(statuses(final)).toEqual({ unknown: 20 });
      const one = await t.request('GET', `/v1/messages/${ids[0]}`, undefined, {
        authorization: `Bearer ${t.account.apiKey}`,
      });
      expect(one.json).toMatchObject({ status: 'unknown', reason: 'receipt_timeout' });
      await waitFor(
        () => bodies.filter((b) => b.status === 'unknown').length === 20,
        10_000,
        'callbacks for unknown',
      );
      expect((await t.request('GET', '/metrics')).json).toMatch(
        /parley_message_status_total\{status="unknown",reason="receipt_timeout",number_type="local"\} 20/,
      );
    } finally {
      await new Promise((r) => rcv.close(r));
    }
  });

  // Regression (issue 6): unmatched receipts never expired (re-parked each second with a fresh
  // TTL) and parley_receipts_unmatched_total was never incremented.
  it('counts receipts that never match once their TTL passes and lists them for the operator', async () => {
    t = await startTestGateway({ file: import.meta.filename, env: { PARLEY_RECEIPT_PARK_TTL_MS: '1000' } });
    for (let i = 0; i < 25; i++) t.sim.core.injectReceipt(`NOSUCH${i}`);
    let counted = 0;
    await waitFor(
      () => counted === 25,
      10_000,
      '25 unmatched receipts counted',
      async () => {
        const m = (await t!.request('GET', '/metrics')).json as string;
        counted = Number(
          /parley_receipts_unmatched_total\{carrier="sim",cause="ttl"\} (\d+)/.exec(m)?.[1] ?? 0,
        );
      },
    );
    const list = await t.request('GET', '/v1/admin/receipts/unmatched?limit=100', undefined, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(list.json.data).toHaveLength(25);
    expect(list.json.data[0]).toMatchObject({ carrierId: 'sim', status: 'delivered' });
    expect(list.json.data.map((x: any) => x.smscId)).toContain('NOSUCH0');
    // Expired means expired: no longer tried against new ids.
    expect((await t.gw.db.query('SELECT 1 FROM parked_receipts WHERE unmatched_at IS NULL')).rowCount).toBe(
      0,
    );
    expect(t.sim.stats.receiptRespErrors).toBe(0);
  });

  // Regression (issue 6): /health/ready stayed 200 while a link was silently dead.
  it('reports a silently dead link in /health/ready before the bind is torn down', async () => {
    t = await startTestGateway({
      file: import.meta.filename,
      carrier: { enquireLinkIntervalMs: 200, enquireLinkTimeoutMs: 400, enquireLinkMaxMissed: 20 },
    });
    expect((await t.request('GET', '/health/ready')).status).toBe(200);
    // The SMSC stops answering anything, the TCP connection stays up.
    t.sim.setScenario(
      applyScenario(DEFAULT_SCENARIO, {
        name: 'silent',
        faults: { ignoreEnquireLink: true, missingResponseProbability: 1 },
      }),
    );
    let ready: any;
    await waitFor(
      () => ready?.status === 503,
      3_000,
      'readiness to fail',
      async () => {
        ready = await t!.request('GET', '/health/ready');
      },
    );
    expect(ready.json.checks.carriers.sim).toMatchObject({ healthy: 0, bound: 1 });
    expect(t.gw.carriers[0]!.binds[0]!.currentState).toBe('bound');
    t.sim.setScenario(DEFAULT_SCENARIO);
    await waitFor(
      () => ready?.status === 200,
      5_000,
      'readiness back',
      async () => {
        ready = await t!.request('GET', '/health/ready');
      },
    );
  });
});

describe('shutdown', () => {
  // Regression (issue 6): during SIGTERM one receipt was acknowledged to the SMSC and then lost.
  it('acknowledges no receipt it has not stored: SIGTERM with receipts in flight, restart, every message delivered', async () => {
    const db = await freshDatabase('sigterm');
    drops.push(db.drop);
    const sim = await startSimProcess({ extends: 'default', receipts: { minMs: 50, maxMs: 3_000 } });
    children.push(sim.child);
    const g1 = await startGatewayProcess(db.url, sim.smscPort);
    children.push(g1.child);
    const acc = await childAccount(g1, '+15550106602');
    const ids: string[] = [];
    for (let b = 0; b < 3; b++) {
      const r = await g1.post(
        '/v1/messages/batch',
        {
          messages: Array.from({ length: 500 }, (_, i) => ({
            to: `+1415559${String(1000 + b * 500 + i)}`,
            body: `t ${b}/${i}`,
          })),
        },
        acc.apiKey,
      );
      ids.push(...r.json.results.map((x: { id: string }) => x.id));
    }
    // Some delivered, many receipts still to come: stop now.
    let delivered = 0;
    await waitFor(
      () => delivered > 200,
      20_000,
      'some delivered',
      async () => {
        delivered = await g1.metric('parley_message_status_total', 'status="delivered"');
      },
    );
    expect(delivered).toBeLessThan(1_500);
    await new Promise((r) => setTimeout(r, 300));
    g1.child.child.kill('SIGTERM');
    expect(await g1.child.exited).toBe(0);
    const g2 = await startGatewayProcess(db.url, sim.smscPort);
    children.push(g2.child);
    const pgc = new (await import('pg')).default.Client({ connectionString: db.url });
    await pgc.connect();
    let rows: Array<{ status: string; n: number }> = [];
    await waitFor(
      () => rows.length === 1 && rows[0]!.status === 'delivered' && rows[0]!.n === 1_500,
      60_000,
      'all 1,500 delivered',
      async () => {
        rows = (
          await pgc.query(
            'SELECT status, count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[]) GROUP BY status',
            [ids],
          )
        ).rows;
      },
    );
    await pgc.end();
    g2.child.child.kill('SIGTERM');
    await g2.child.exited;
  }, 120_000);
});
