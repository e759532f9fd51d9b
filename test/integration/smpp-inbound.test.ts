import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeHeaderOnly, encodePdu } from '../../src/smpp/pdu-codec.ts';
import { SmppSession } from '../../src/smpp/session.ts';
import {
  carrierConfig,
  okIds,
  silent,
  simHarness,
  startSimulator,
  TestCarrier,
  tally,
  waitFor,
} from '../helpers/smpp.ts';

const h = simHarness();

describe('inbound MO and receipts through src/smpp', () => {
  it('reassembles MO sent as GSM-7, UCS-2, 8/16-bit UDH, SAR and message_payload', async () => {
    h.sim = await startSimulator();
    h.tc = new TestCarrier(carrierConfig(h.sim.port));
    await h.tc.waitBound();
    const long = 'Long reply with € and [brackets] '.repeat(8);
    h.sim.injectMo({ from: '+15551230001', to: '12345', text: 'STOP' });
    h.sim.injectMo({ from: '+15551230002', to: '12345', text: 'Привет 😀', encoding: 'ucs2' });
    h.sim.injectMo({ from: '+15551230003', to: '12345', text: long, segments: 3, concat: 'udh8' });
    h.sim.injectMo({ from: '+15551230004', to: '12345', text: long, segments: 2, concat: 'udh16' });
    h.sim.injectMo({ from: '+15551230005', to: '12345', text: long, segments: 4, concat: 'sar' });
    h.sim.injectMo({ from: '+15551230006', to: '12345', text: long, concat: 'payload' });
    h.sim.injectMo({ from: '+15551230007', to: '12345', text: 'crème', encoding: 'latin1' });
    await waitFor(() => h.tc!.mo.length === 7, 3_000, '7 MO messages');
    const byFrom = new Map(h.tc.mo.map((m) => [m.from, m]));
    expect(byFrom.get('+15551230001')).toMatchObject({
      to: '+12345',
      text: 'STOP',
      segments: 1,
      complete: true,
    });
    expect(byFrom.get('+15551230002')?.text).toBe('Привет 😀');
    expect(byFrom.get('+15551230003')).toMatchObject({ text: long, segments: 3, complete: true });
    expect(byFrom.get('+15551230004')).toMatchObject({ text: long, segments: 2 });
    expect(byFrom.get('+15551230005')).toMatchObject({ text: long, segments: 4 });
    expect(byFrom.get('+15551230006')).toMatchObject({ text: long, segments: 1 });
    expect(byFrom.get('+15551230007')?.text).toBe('crème');
    // 13 deliver_sm in all (1 + 1 + 3 + 2 + 4 + 1 + 1 parts), each acknowledged OK, none an error.
    await waitFor(() => h.sim!.stats.moResps === 13, 3_000, 'every MO part acknowledged');
    expect(h.sim.stats.receiptRespErrors).toBe(0);
  });

  it('answers deliver_sm with a temporary error when the handler fails, so the SMSC keeps it', async () => {
    h.sim = await startSimulator();
    const cfg = carrierConfig(h.sim.port);
    const { Carrier } = await import('../../src/smpp/carrier.ts');
    let calls = 0;
    const carrier = new Carrier(
      cfg,
      {
        onReceipt: () => undefined,
        onMo: async () => {
          calls++;
          throw new Error('db down');
        },
      },
      silent,
    );
    carrier.start();
    await waitFor(() => carrier.boundTransmitters === 1, 3_000, 'bound');
    h.sim.injectMo({ from: '+1555', to: '1', text: 'hi' });
    await waitFor(() => h.sim!.stats.receiptRespErrors === 1, 3_000, 'an error deliver_sm_resp');
    expect(calls).toBe(1);
    await carrier.stop(100);
  });

  it('delivers receipts for a transmitter to the receiver of a tx+rx pair', async () => {
    h.sim = await startSimulator();
    h.tc = new TestCarrier(carrierConfig(h.sim.port, { binds: [{ mode: 'txrx', count: 1 }] }));
    await h.tc.waitBound();
    expect(h.tc.carrier.binds.map((b) => b.mode)).toEqual(['tx', 'rx']);
    const out = await h.tc.submitMany(200);
    expect(tally(out)).toEqual({ ok: 200 });
    await waitFor(() => h.tc!.matchedReceipts(okIds(out)).size === 200, 5_000, 'receipts via rx');
  });

  it('spreads submits over several binds and keeps going when one is dropped', async () => {
    h.sim = await startSimulator();
    h.tc = new TestCarrier(carrierConfig(h.sim.port, { binds: [{ mode: 'trx', count: 3 }] }));
    await h.tc.waitBound();
    const first = h.tc.submitMany(3000);
    await waitFor(() => h.sim!.stats.accepted > 500, 5_000, 'traffic');
    const victim = [...h.sim.core.connections][0]!;
    victim.close();
    const out = await first;
    expect(out.every((o) => o.kind === 'ok' || (o.kind === 'retryable' && o.code === 'SMPP_BIND_LOST'))).toBe(
      true,
    );
    expect(new Set(out.flatMap((o) => (o.kind === 'ok' ? [o.bindId] : []))).size).toBe(3);
    await h.tc.waitBound();
  });
});

/** A hostile SMSC: answers the bind, then sends whatever the test wants. */
async function rawSmsc(
  after: (s: net.Socket, bindSeq: number) => void,
): Promise<{ port: number; server: net.Server; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.on('error', () => undefined);
    s.once('data', (d) => {
      const seq = d.readUInt32BE(12);
      s.write(encodePdu('bind_transceiver_resp', seq, { system_id: 'RAW' }));
      after(s, seq);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, server, connections: () => connections };
}

function session(port: number, onClose: (reason: string, err?: Error) => void) {
  const cfg = carrierConfig(port);
  return new SmppSession(
    { ...cfg, bindMode: 'trx' },
    { onInbound: (_p, respond) => respond(0), onWritable: () => undefined, onClose },
    silent,
  );
}

describe('protocol errors from the SMSC', () => {
  it('destroys the session on a bad command_length and the carrier rebinds', async () => {
    const raw = await rawSmsc((s) => setTimeout(() => s.write(Buffer.from('0000000300000005', 'hex')), 50));
    let closed: string | undefined;
    const s = session(raw.port, (reason) => (closed = reason));
    await s.open();
    await waitFor(() => closed !== undefined, 2_000, 'close');
    expect(closed).toBe('protocol error');
    expect(s.counters.protocolErrors).toBe(1);
    const c = new TestCarrier(carrierConfig(raw.port));
    await waitFor(() => raw.connections() >= 3, 3_000, 'reconnects with fresh sessions');
    await c.stop();
    raw.server.close();
  });

  // Regression (issue 6): a deliver_sm with valid framing but a TLV running past its end closed the
  // session without an answer; the SMSC redelivered it after the rebind and the receipts queued
  // behind it were lost.
  it('answers a deliver_sm whose TLV runs past the end with an error, keeps the session and the PDUs around it', async () => {
    const bad = Buffer.concat([
      encodePdu('deliver_sm', 2, { short_message: Buffer.from('x') }),
      Buffer.from('0427000a02', 'hex'),
    ]);
    bad.writeUInt32BE(bad.length, 0);
    const good = (seq: number) =>
      encodePdu('deliver_sm', seq, { source_addr: '1555', short_message: Buffer.from(`ok ${seq}`) });
    const answers: Array<{ seq: number; status: number }> = [];
    const raw = await rawSmsc((sock) => {
      sock.on('data', (d: Buffer) => {
        for (let o = 0; o + 16 <= d.length; o += d.readUInt32BE(o)) {
          if (d.readUInt32BE(o + 4) === 0x80000005)
            answers.push({ seq: d.readUInt32BE(o + 12), status: d.readUInt32BE(o + 8) });
        }
      });
      // One TCP write: a valid PDU, the malformed one, another valid one.
      sock.write(Buffer.concat([good(1), bad, good(3)]));
    });
    let closed: string | undefined;
    const handed: string[] = [];
    const rejected: Array<{ seq: number; status: number; frame: string }> = [];
    const cfg = carrierConfig(raw.port);
    const s = new SmppSession(
      { ...cfg, bindMode: 'trx' },
      {
        onInbound: (p, r) => {
          handed.push(p.shortMessage.toString());
          r(0);
        },
        onWritable: () => undefined,
        onClose: (r) => {
          closed = r;
        },
        onRejected: (p) =>
          rejected.push({ seq: p.sequenceNumber, status: p.answeredStatus, frame: p.frame.toString('hex') }),
      },
      silent,
    );
    await s.open();
    await waitFor(() => answers.length === 3, 2_000, 'three deliver_sm_resp');
    expect(closed).toBeUndefined();
    expect(s.isBound).toBe(true);
    expect(handed).toEqual(['ok 1', 'ok 3']);
    expect(answers.sort((a, b) => a.seq - b.seq)).toEqual([
      { seq: 1, status: 0 },
      { seq: 2, status: 0xc2 }, // ESME_RINVPARLEN
      { seq: 3, status: 0 },
    ]);
    expect(rejected).toEqual([{ seq: 2, status: 0xc2, frame: bad.toString('hex') }]);
    expect(s.counters.rejectedPdus).toBe(1);
    s.close('test over');
    raw.server.close();
  });

  it('answers unknown commands with generic_nack ESME_RINVCMDID and enquire_link with its resp', async () => {
    const replies: Buffer[] = [];
    const raw = await rawSmsc((s) => {
      s.on('data', (d) => replies.push(d));
      s.write(Buffer.concat([encodeHeaderOnly(0x00000777, 0, 41), encodeHeaderOnly(0x15, 0, 42)]));
    });
    const s = session(raw.port, () => undefined);
    await s.open();
    await waitFor(() => Buffer.concat(replies).length >= 32, 2_000, 'two replies');
    const all = Buffer.concat(replies);
    expect(all.subarray(0, 16).toString('hex')).toBe('00000010800000000000000300000029');
    expect(all.subarray(16, 32).toString('hex')).toBe('0000001080000015000000000000002a');
    s.close('done');
    raw.server.close();
  });

  it('fails a bind rejected for a bad password with ESME_RINVPASWD and a bad system_id with ESME_RINVSYSID', async () => {
    h.sim = await startSimulator('default', { systemId: 'parley', password: 'right' });
    const bad = new SmppSession(
      { ...carrierConfig(h.sim.port, { password: 'wrong' }), bindMode: 'trx' },
      { onInbound: () => undefined, onWritable: () => undefined, onClose: () => undefined },
      silent,
    );
    await expect(bad.open()).rejects.toMatchObject({ code: 'SMPP_BIND_REJECTED', commandStatus: 0x0e });
    const badId = new SmppSession(
      { ...carrierConfig(h.sim.port, { systemId: 'nobody', password: 'right' }), bindMode: 'trx' },
      { onInbound: () => undefined, onWritable: () => undefined, onClose: () => undefined },
      silent,
    );
    await expect(badId.open()).rejects.toMatchObject({ commandStatus: 0x0f });
  });
});
