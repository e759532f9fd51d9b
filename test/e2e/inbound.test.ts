import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { encode } from '../../simulator/pdu.ts';
import {
  childAccount,
  freshDatabase,
  type GatewayProcess,
  type SimProcess,
  simControl,
  startGatewayProcess,
  startSimProcess,
  waitSimBound,
} from '../helpers/child-gateway.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { Child } from '../helpers/processes.ts';
import { databaseUrl } from '../helpers/services.ts';
import { waitFor } from '../helpers/smpp.ts';
import { TcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';

let t: TestGateway | undefined;
let proxy: TcpProxy | undefined;
const children: Child[] = [];
const drops: Array<() => Promise<void>> = [];
afterEach(async () => {
  proxy?.up();
  await t?.stop();
  await proxy?.stop();
  t = undefined;
  proxy = undefined;
});
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  for (const d of drops) await d().catch(() => undefined);
});

type Row = {
  account_id: string | null;
  from_e164: string;
  to_e164: string;
  body: string;
  segments: number;
  complete: boolean;
  raw: Buffer | null;
};
async function inbound(g: TestGateway, n: number, timeoutMs = 10_000): Promise<Row[]> {
  let rows: Row[] = [];
  await waitFor(
    () => rows.length >= n,
    timeoutMs,
    `${n} inbound messages`,
    async () => {
      rows = (
        await g.gw.db.query<Row>(
          'SELECT account_id, from_e164, to_e164, body, segments, complete, raw FROM inbound_messages ORDER BY received_at',
        )
      ).rows;
    },
  );
  return rows;
}

describe('inbound messages are attributed and never lost', () => {
  // Regression (issue 6): an MO whose destination came with TON 0 or 2 (14155550100, no +) was
  // stored with account_id NULL: 7 of 8 MOs to the account's own number were misattributed.
  it('attributes MO to the account whatever TON and rendering the SMSC uses for the destination', async () => {
    t = await startTestGateway({ file: import.meta.filename });
    const num = t.account.number; // +1555010XXXX
    const digits = num.slice(1);
    const variants: Array<{ to: string; destTon: number }> = [
      { to: digits, destTon: 1 },
      { to: digits, destTon: 0 },
      { to: digits, destTon: 2 },
      { to: digits.slice(1), destTon: 2 },
      { to: digits.slice(1), destTon: 0 },
      { to: `+${digits}`, destTon: 0 },
      { to: `00${digits}`, destTon: 0 },
      { to: digits.slice(1), destTon: 4 },
    ];
    for (const v of variants)
      t.sim.injectMo({
        from: '15551230000',
        to: v.to,
        destTon: v.destTon,
        sourceTon: 0,
        text: `to ${v.to}/${v.destTon}`,
      });
    const rows = await inbound(t, variants.length);
    expect(rows.filter((r) => r.account_id === t!.account.id)).toHaveLength(variants.length);
    expect(new Set(rows.map((r) => r.to_e164))).toEqual(new Set([num]));
    expect(new Set(rows.map((r) => r.from_e164))).toEqual(new Set(['+15551230000']));
  });

  // Regression (issue 6): an MO containing U+0000 was refused with ESME_RX_T_APPN forever and
  // failed the MOs stored with it.
  it('stores an MO holding U+0000 (replaced in the text, exact in the octets) and those beside it', async () => {
    t = await startTestGateway({ file: import.meta.filename });
    t.sim.injectMo({ from: '+15551230001', to: t.account.number, text: 'a\u0000b', encoding: 'latin1' });
    for (let i = 0; i < 5; i++)
      t.sim.injectMo({ from: '+15551230002', to: t.account.number, text: `plain ${i}` });
    t.sim.injectMo({ from: '+15551230003', to: t.account.number, text: 'u\u0000cs', encoding: 'ucs2' });
    const rows = await inbound(t, 7);
    const nul = rows.find((r) => r.from_e164 === '+15551230001')!;
    expect(nul.body).toBe('a\ufffdb');
    expect(Buffer.from(nul.raw!).toString('hex')).toBe('610062');
    expect(rows.find((r) => r.from_e164 === '+15551230003')!.body).toBe('u\ufffdcs');
    expect(t.sim.stats.receiptRespErrors).toBe(0);
  });

  // Regression (issue 6): one deliver_sm with sar_segment_seqnum=0 crashed the gateway ~60 s later.
  it('stores a SAR part with seqnum 0 as a message of its own, and nothing fails later', async () => {
    t = await startTestGateway({ file: import.meta.filename, carrier: { moReassemblyTimeoutMs: 300 } });
    for (const seq of [0, 4, 255])
      t.sim.core.injectRaw(
        encode('deliver_sm', 0, {
          source_addr_ton: 1,
          source_addr: '15551230004',
          dest_addr_ton: 1,
          destination_addr: t.account.number.slice(1),
          short_message: Buffer.from(`seq ${seq}`),
          sar_msg_ref_num: 9,
          sar_total_segments: 3,
          sar_segment_seqnum: seq,
        }),
      );
    const rows = await inbound(t, 3);
    // One batch shares its received_at: compare in body order.
    expect(rows.map((r) => [r.body, r.segments, r.complete]).sort()).toEqual([
      ['seq 0', 1, true],
      ['seq 255', 1, true],
      ['seq 4', 1, true],
    ]);
    // Past the reassembly timeout, with every sweep run: nothing left, nothing thrown.
    await new Promise((r) => setTimeout(r, 1_200));
    await t.gw.sweeper.runAll();
    expect((await t.gw.db.query('SELECT 1 FROM mo_groups')).rowCount).toBe(0);
  });

  // Regression (issue 6): an incomplete concatenated MO whose text held U+0000, or whose timeout
  // fired while the database was down, was an unhandled rejection.
  it('delivers an incomplete MO with U+0000 after its timeout, even when the timeout falls in a database outage', async () => {
    const base = new URL(await databaseUrl());
    proxy = new TcpProxy(base.hostname, Number(base.port || 5432));
    await proxy.start();
    t = await startTestGateway({
      file: import.meta.filename,
      dbUrl: viaProxy(base.toString(), proxy),
      carrier: { moReassemblyTimeoutMs: 500 },
      env: { PARLEY_DB_CONNECT_TIMEOUT_MS: '500', PARLEY_DB_STATEMENT_TIMEOUT_MS: '1000' },
    });
    t.sim.injectMo({
      from: '+15551230005',
      to: t.account.number,
      text: `x\u0000${'y'.repeat(200)}`,
      encoding: 'latin1',
      segments: 2,
      only: [1],
      ref: 77,
    });
    let parts = 0;
    await waitFor(
      () => parts === 1,
      5_000,
      'the first part stored',
      async () => {
        parts = (await t!.gw.db.query('SELECT 1 FROM mo_parts')).rowCount;
      },
    );
    proxy.down();
    await new Promise((r) => setTimeout(r, 2_500)); // the deadline passes; sweeps fail meanwhile
    proxy.up();
    const rows = await inbound(t, 1, 15_000);
    expect(rows[0]).toMatchObject({ complete: false, segments: 2 });
    expect(rows[0]!.body.startsWith('x\ufffdy')).toBe(true);
    expect(rows[0]!.body.endsWith('[…]')).toBe(true);
  });
});

describe('concatenated MO survive a crash', () => {
  // Regression (issue 6): parts were acknowledged before they were stored and joined in one
  // process's memory: a crash lost them and two instances could not join them.
  it('joins a message whose parts straddle a kill -9, and a resent part after delivery is not a new message', async () => {
    const db = await freshDatabase('mo_crash');
    drops.push(db.drop);
    const sim: SimProcess = await startSimProcess();
    children.push(sim.child);
    const start = async () => {
      const g: GatewayProcess = await startGatewayProcess(db.url, sim.smscPort);
      children.push(g.child);
      return g;
    };
    const g1 = await start();
    await waitSimBound(sim);
    const acc = await childAccount(g1, '+15550106601');
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(8); // 3 parts
    const parts = (only: number[]) =>
      simControl(sim, '/mo', {
        from: '+15551239999',
        to: '+15550106601',
        text,
        segments: 3,
        ref: 4242,
        only,
      });
    await parts([1, 2]);
    const pgc = await db.client();
    let stored = 0;
    await waitFor(
      () => stored === 2,
      30_000,
      'two parts stored',
      async () => {
        stored = (await pgc.query('SELECT 1 FROM mo_parts')).rowCount ?? 0;
      },
    );
    g1.child.child.kill('SIGKILL');
    await g1.child.exited;
    const g2 = await start();
    await waitSimBound(sim);
    await parts([3]);
    let rows: Array<{ body: string; complete: boolean; account_id: string }> = [];
    await waitFor(
      () => rows.length === 1,
      30_000,
      'the whole message',
      async () => {
        rows = (await pgc.query('SELECT body, complete, account_id FROM inbound_messages')).rows;
      },
    );
    expect(rows[0]).toEqual({ body: text, complete: true, account_id: acc.id });
    // The SMSC sends part 3 again (its answer was lost): recognised, no second message.
    const answered = async () => {
      const stats = (await (await fetch(`${sim.control}/stats`)).json()) as { moResps?: number };
      return stats.moResps ?? 0;
    };
    const before = await answered();
    await parts([3]);
    // Once the SMSC has our answer to the resent part, the gateway has decided what it is.
    let now = before;
    await waitFor(
      () => now > before,
      10_000,
      'the resent part answered',
      async () => {
        now = await answered();
      },
    );
    expect((await pgc.query('SELECT 1 FROM inbound_messages')).rowCount).toBe(1);
    expect((await pgc.query('SELECT 1 FROM mo_parts')).rowCount).toBe(0);
    g2.child.child.kill('SIGTERM');
    await g2.child.exited;
  }, 90_000);

  it('joins the parts of one message received by two instances', async () => {
    t = await startTestGateway({ file: import.meta.filename });
    const b = await startTestGateway({
      file: import.meta.filename,
      shared: { schema: t.schema, sim: t.sim },
    });
    try {
      const text = 'Parts of one message, two gateways, one database. '.repeat(6);
      // Each injection goes to the next receiver in turn: the parts of each message are spread
      // over both instances.
      for (let i = 0; i < 10; i++)
        for (const part of [1, 2, 3])
          t.sim.injectMo({
            from: `+1555123${String(1000 + i)}`,
            to: t.account.number,
            text,
            segments: 3,
            ref: 500 + i,
            only: [part],
          });
      const rows = await inbound(t, 10);
      expect(rows.every((r) => r.complete && r.body === text)).toBe(true);
      expect(rows).toHaveLength(10);
      expect(t.sim.stats.receiptRespErrors).toBe(0);
    } finally {
      await b.gw.stop();
    }
  });
});
