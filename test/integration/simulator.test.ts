import { spawn } from 'node:child_process';
import net from 'node:net';
import smpp from 'smpp';
import { describe, expect, it } from 'vitest';
import { submitResp } from '../../simulator/pdu.ts';
import { namedScenario, scenarioFromJson } from '../../simulator/scenario.ts';
import { decodeBytes, encodeText } from '../../simulator/text.ts';
import { encodeMessage } from '../../src/smpp/encoding/segment.ts';
import { encodeHeaderOnly, encodePdu } from '../../src/smpp/pdu-codec.ts';
import {
  carrierConfig,
  fields,
  okIds,
  simHarness,
  startSimulator,
  TestCarrier,
  waitFor,
} from '../helpers/smpp.ts';

const h = simHarness();

/** Opens a raw TCP connection and collects what the simulator answers. */
async function raw(port: number) {
  const sock = net.connect(port, '127.0.0.1');
  const got: Buffer[] = [];
  let closed = false;
  sock.on('data', (d) => got.push(d));
  sock.on('close', () => (closed = true));
  sock.on('error', () => undefined);
  await new Promise((r) => sock.once('connect', r));
  return { sock, all: () => Buffer.concat(got), closed: () => closed };
}

describe('simulator protocol robustness', () => {
  it('nacks an impossible command_length and closes only that connection', async () => {
    h.sim = await startSimulator();
    h.tc = new TestCarrier(carrierConfig(h.sim.port));
    await h.tc.waitBound();
    const c = await raw(h.sim.port);
    c.sock.write(Buffer.from('00000002000000040000000000000001', 'hex'));
    await waitFor(() => c.closed(), 2_000, 'close');
    expect(c.all().subarray(0, 12).toString('hex')).toBe('000000108000000000000002');
    expect(h.sim.stats.malformed).toBe(1);
    const out = await h.tc.submitMany(10);
    expect(out.every((o) => o.kind === 'ok')).toBe(true);
  });

  it('answers unknown commands with generic_nack ESME_RINVCMDID and keeps the connection', async () => {
    h.sim = await startSimulator();
    const c = await raw(h.sim.port);
    c.sock.write(Buffer.concat([encodeHeaderOnly(0x00000999, 0, 5), encodeHeaderOnly(0x15, 0, 6)]));
    await waitFor(() => c.all().length >= 32, 2_000, 'replies');
    expect(c.all().subarray(0, 16).toString('hex')).toBe('00000010800000000000000300000005');
    expect(c.all().subarray(16, 32).toString('hex')).toBe('00000010800000150000000000000006');
    expect(c.closed()).toBe(false);
    c.sock.destroy();
  });

  it('refuses submit_sm before bind and a second bind on one connection', async () => {
    h.sim = await startSimulator();
    const c = await raw(h.sim.port);
    c.sock.write(encodePdu('submit_sm', 1, { destination_addr: '1', short_message: Buffer.from('x') }));
    c.sock.write(
      encodePdu('bind_transceiver', 2, { system_id: 'a', password: 'b', interface_version: 0x34 }),
    );
    c.sock.write(
      encodePdu('bind_transceiver', 3, { system_id: 'a', password: 'b', interface_version: 0x34 }),
    );
    await waitFor(() => c.all().length >= 16 * 3, 2_000, 'replies');
    const all = c.all();
    expect(all.readUInt32BE(8)).toBe(0x04); // ESME_RINVBNDSTS
    const third = all.subarray(all.length - 16);
    expect(third.readUInt32BE(8)).toBe(0x05); // ESME_RALYBND
    c.sock.destroy();
  });

  it('builds submit_sm_resp byte-identical to the smpp library (hand-written hot path, library as oracle)', () => {
    for (const id of ['', '1', '8A44102A66000001', 'SIMABCDEFXYZ']) {
      const lib = new smpp.PDU('submit_sm_resp', { sequence_number: 77, message_id: id }).toBuffer();
      expect(submitResp(77, id).equals(lib)).toBe(true);
    }
    expect(
      submitResp(5, '', 0x58).equals(
        new smpp.PDU('submit_sm_resp', { sequence_number: 5, command_status: 0x58 }).toBuffer(),
      ),
    ).toBe(true);
  });
});

describe('simulator behaviour', () => {
  it('holds receipts for a transmitter-only bind until a receiver of the same system_id binds', async () => {
    h.sim = await startSimulator();
    h.tc = new TestCarrier(carrierConfig(h.sim.port, { binds: [{ mode: 'tx', count: 1 }] }));
    await h.tc.waitBound();
    const out = await h.tc.submitMany(20);
    await waitFor(() => h.sim!.stats.heldReceipts === 20, 2_000, 'held receipts');
    const rx = new TestCarrier(carrierConfig(h.sim.port, { binds: [{ mode: 'rx', count: 1 }] }));
    await waitFor(() => rx.matchedReceipts(okIds(out)).size === 20, 3_000, 'receipts on the receiver');
    expect(h.sim.stats.heldReceipts).toBe(0);
    await rx.stop();
  });

  it('replays the same outcomes and faults under the same seed', async () => {
    const run = async () => {
      const s = await startSimulator('mixed-outcomes', { seed: 7 });
      const t = new TestCarrier(carrierConfig(s.port, { windowSize: 1 }));
      await t.waitBound();
      const out = [];
      for (let i = 0; i < 60; i++) out.push(await t.carrier.submit(fields(`1${i}`, 'x')));
      await waitFor(() => t.receipts.length === 60, 5_000, 'receipts');
      const ids = okIds(out);
      const states = ids.map((id) => t.receipts.find((r) => r.messageId === id)!.state);
      await t.stop();
      await s.stop();
      return { ids, states };
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    expect(new Set(a.states).size).toBeGreaterThan(1);
  });

  it('keeps what it received, decoded, for GET /messages', async () => {
    h.sim = await startSimulator();
    h.tc = new TestCarrier(carrierConfig(h.sim.port));
    await h.tc.waitBound();
    const m = encodeMessage(`Grüße € ${'x'.repeat(160)}`, { referenceNumber: 3 });
    for (const p of m.parts)
      await h.tc.carrier.submit(
        fields('15550001111', '', {
          shortMessage: p.bytes,
          esmClass: m.udhi ? 0x40 : 0,
          dataCoding: m.dataCoding,
        }),
      );
    const u = encodeMessage('Привет');
    await h.tc.carrier.submit(
      fields('15550001112', '', { shortMessage: u.parts[0]!.bytes, dataCoding: u.dataCoding }),
    );
    const msgs = h.sim.core.listMessages(10);
    expect(
      msgs
        .map((x) => x.text)
        .slice(0, 2)
        .join(''),
    ).toBe(`Grüße € ${'x'.repeat(160)}`);
    expect(msgs[0]!.concat).toEqual({ ref: 3, total: 2, seq: 1, refBits: 8 });
    expect(msgs[2]!.text).toBe('Привет');
  });
});

describe('simulator control API', () => {
  const call = async (port: number, method: string, path: string, body?: unknown) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };

  it('injects MO, switches scenarios, reports stats, resets and drops connections', async () => {
    h.sim = await startSimulator('default', { controlPort: 0 });
    const port = h.sim.controlPort!;
    expect((await call(port, 'POST', '/mo', { from: '+1', to: '2', text: 'hi' })).status).toBe(409);
    h.tc = new TestCarrier(carrierConfig(h.sim.port));
    await h.tc.waitBound();
    expect(
      await call(port, 'POST', '/mo', { from: '+15551230000', to: '12345', text: 'START', segments: 1 }),
    ).toEqual({ status: 202, json: { parts: 1 } });
    await waitFor(() => h.tc!.mo.length === 1, 2_000, 'MO');
    expect(h.tc.mo[0]!.text).toBe('START');
    expect((await call(port, 'POST', '/mo', { from: '+1', text: 'x' })).status).toBe(400);
    expect((await call(port, 'POST', '/mo', '{not json')).status).toBe(400);
    expect(
      (await call(port, 'POST', '/mo', { from: '+1', to: '2', text: 'Ж', encoding: 'gsm7' })).json.error,
    ).toMatch(/cannot be encoded/);

    const bad = await call(port, 'POST', '/scenario', { faults: { genericNackProbability: 2 } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/faults.genericNackProbability/);
    expect((await call(port, 'POST', '/scenario', { name: 'throttle' })).json.scenario).toMatchObject({
      name: 'throttle',
    });
    expect(h.sim.scenario.faults.throughputLimit).toBe(200);
    expect(
      (await call(port, 'POST', '/scenario', { extends: 'reject', faults: { rejectProbability: 1 } })).status,
    ).toBe(200);
    const out = await h.tc.submitMany(3);
    expect(out.every((o) => o.kind === 'failed')).toBe(true);

    const stats = await call(port, 'GET', '/stats');
    expect(stats.json).toMatchObject({ rejected: 3, mo: 1, bound: 1 });
    expect((await call(port, 'GET', '/messages?limit=5')).status).toBe(200);
    expect((await call(port, 'POST', '/reset')).json).toEqual({ ok: true });
    expect((await call(port, 'GET', '/stats')).json.rejected).toBe(0);
    expect((await call(port, 'POST', '/disconnect')).json).toEqual({ dropped: 1 });
    await waitFor(() => h.tc!.carrier.binds[0]!.counters.binds === 2, 3_000, 'rebind after disconnect');
    expect((await call(port, 'GET', '/nope')).status).toBe(404);
  });

  it('reviews number assignments and refuses malformed requests for them', async () => {
    h.sim = await startSimulator('default', { controlPort: 0 });
    const port = h.sim.controlPort!;
    const hostile: unknown[] = [
      '{not json',
      {},
      { campaignId: 'C000001' },
      { campaignId: 'C000001', number: 'abc' },
      { campaignId: 'C000001', number: '+1555\u0000' },
      { campaignId: 'x'.repeat(65), number: '+15125550100' },
      { campaignId: ['C1'], number: '+15125550100' },
      { campaignId: 'C000001', number: 9 },
    ];
    for (const body of hostile)
      expect((await call(port, 'POST', '/registry/assignments', body)).status, JSON.stringify(body)).toBe(
        400,
      );
    const ok = await call(port, 'POST', '/registry/assignments', {
      campaignId: 'C000001',
      number: '+15125550100',
    });
    expect(ok.status).toBe(201);
    expect(ok.json).toMatchObject({ kind: 'assignment', status: 'submitted' });
    // An assignment is not found under another kind's path, nor an unknown id.
    expect((await call(port, 'GET', `/registry/campaigns/${ok.json.id}`)).status).toBe(404);
    expect((await call(port, 'GET', '/registry/assignments/N999999')).status).toBe(404);
    let status: unknown;
    await waitFor(
      () => status === 'approved',
      2_000,
      'reviewed',
      async () => {
        status = (await call(port, 'GET', `/registry/assignments/${ok.json.id}`)).json.status;
      },
    );
  });

  it('validates scenario files with the bad field named', () => {
    expect(() => scenarioFromJson({ receipts: { outcomes: { NOPE: 1 } } })).toThrow(/receipts.outcomes.NOPE/);
    expect(() => scenarioFromJson({ extends: 'nope' })).toThrow(/unknown scenario/);
    expect(namedScenario('duplicate-receipts').receipts.duplicateProbability).toBe(0.5);
  });

  it('runs standalone from the command line and rejects bad flags', async () => {
    const ok = spawn(
      process.execPath,
      ['--import', 'tsx', 'simulator/main.ts', '--port', '0', '--control-port', '0', '--seed', '3'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const line = await new Promise<string>((resolve) =>
      ok.stdout.once('data', (d: Buffer) => resolve(d.toString())),
    );
    expect(JSON.parse(line)).toMatchObject({ msg: 'simulator ready', scenario: 'default' });
    ok.kill('SIGTERM');
    const code = await new Promise((r) => ok.once('exit', r));
    expect(code).toBe(0);
    const bad = spawn(process.execPath, ['--import', 'tsx', 'simulator/main.ts', '--port', 'x'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    bad.stderr.on('data', (d) => (err += d));
    expect(await new Promise((r) => bad.once('exit', r))).toBe(2);
    expect(err).toMatch(/--port must be a whole number/);
  });
});

describe('simulator text coding against src/ (independent implementations agree)', () => {
  it('round-trips GSM-7, UCS-2 and Latin-1', () => {
    const gsm = 'Hello @£$ {€} [~] ÄÖÑÜ§¿ äöñüà';
    expect(encodeText(gsm, 'gsm7')!.equals(encodeMessage(gsm).parts[0]!.bytes)).toBe(true);
    expect(decodeBytes(encodeMessage(gsm).parts[0]!.bytes, 0)).toBe(gsm);
    expect(decodeBytes(encodeMessage('Привет 😀').parts[0]!.bytes, 8)).toBe('Привет 😀');
    expect(decodeBytes(encodeMessage('crêpe', { allowLatin1: true }).parts[0]!.bytes, 3)).toBe('crêpe');
  });
});
