import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SmscSimulator } from '../../simulator/smsc.ts';
import { encodeMessage } from '../../src/smpp/encoding/segment.ts';
import { freePort, PEERS_DIR, type Proc, peersMissing, run, waitPort } from '../helpers/peers.ts';
import {
  carrierConfig,
  fields,
  okIds,
  startSimulator,
  TestCarrier,
  tally,
  waitFor,
} from '../helpers/smpp.ts';

const missing = peersMissing();
if (missing && process.env.CI) throw new Error(`interop peers are required in CI: ${missing}`);
// Outside CI a fresh machine may not have the peers yet; say why the suite is skipped.
const suite = missing ? describe.skip : describe;
if (missing) console.warn(`interop tests skipped: ${missing}`);

const procs: Proc[] = [];
let sim: SmscSimulator | undefined;
let tc: TestCarrier | undefined;
afterEach(async () => {
  await tc?.stop();
  tc = undefined;
  for (const p of procs.splice(0)) await p.stop();
  await sim?.stop();
  sim = undefined;
});

async function netSmppSmsc(extra: string[] = []): Promise<{ port: number; ctrl: number }> {
  const port = await freePort();
  const ctrl = await freePort();
  procs.push(
    run('perl', [
      path.join(PEERS_DIR, 'netsmpp', 'smsc.pl'),
      '--port',
      String(port),
      '--ctrl-port',
      String(ctrl),
      '--quiet',
      ...extra,
    ]),
  );
  await waitPort(port, 10_000);
  return { port, ctrl };
}

suite('src/smpp against Net::SMPP smsc.pl (third-party SMSC)', () => {
  it('binds, submits GSM-7/UCS-2/concatenated text, matches every receipt, takes an MO', async () => {
    const { port, ctrl } = await netSmppSmsc(['--system-id', 'parley', '--password', 'secret']);
    tc = new TestCarrier(carrierConfig(port, { enquireLinkIntervalMs: 300 }));
    await tc.waitBound();
    const out = await tc.submitMany(300);
    expect(tally(out)).toEqual({ ok: 300 });
    const texts = ['Ünïcødé? no: GSM {€}', 'Привет 😀', 'long '.repeat(70)];
    for (const t of texts) {
      const m = encodeMessage(t, { referenceNumber: 1 });
      for (const p of m.parts) {
        const o = await tc.carrier.submit(
          fields('447700900001', '', {
            shortMessage: p.bytes,
            dataCoding: m.dataCoding,
            esmClass: m.udhi ? 0x40 : 0,
          }),
        );
        expect(o.kind).toBe('ok');
        out.push(o);
      }
    }
    await waitFor(() => tc!.matchedReceipts(okIds(out)).size === out.length, 10_000, 'receipts from smsc.pl');
    const r = await fetch(`http://127.0.0.1:${ctrl}/mo?from=447700900123&to=12345&text=STOP`);
    expect(r.ok).toBe(true);
    await waitFor(() => tc!.mo.length === 1, 5_000, 'MO from smsc.pl');
    expect(tc.mo[0]).toMatchObject({ from: '+447700900123', text: 'STOP' });
    // enquire_link every 300 ms for a second: smsc.pl answers, so no rebind happened.
    await new Promise((res) => setTimeout(res, 1_000));
    expect(tc.carrier.binds[0]!.counters.binds).toBe(1);
  });

  it('works as a transmitter + receiver pair and reports a bad password as ESME_RINVPASWD', async () => {
    const { port } = await netSmppSmsc(['--system-id', 'parley', '--password', 'secret']);
    tc = new TestCarrier(carrierConfig(port, { binds: [{ mode: 'txrx', count: 1 }] }));
    await tc.waitBound();
    const out = await tc.submitMany(100);
    expect(tally(out)).toEqual({ ok: 100 });
    await waitFor(() => tc!.matchedReceipts(okIds(out)).size === 100, 10_000, 'receipts via the receiver');
    const bad = new TestCarrier(carrierConfig(port, { password: 'nope', queueTimeoutMs: 200 }));
    await waitFor(() => bad.carrier.binds[0]!.counters.bindFailures > 0, 5_000, 'bind failure');
    await bad.stop();
  });
});

suite('simulator against Net::SMPP esme.pl (third-party ESME)', () => {
  const esme = (port: number, n: number, extra: string[] = []) =>
    run('perl', [
      path.join(PEERS_DIR, 'netsmpp', 'esme.pl'),
      '127.0.0.1',
      String(port),
      'esme',
      'pw',
      String(n),
      '--wait',
      '5',
      ...extra,
    ]);

  it('serves transceiver and tx+rx binds with a receipt for every submit', async () => {
    sim = await startSimulator();
    for (const bind of ['trx', 'tx+rx']) {
      const p = esme(sim.port, 2000, ['--bind', bind, '--window', '50']);
      procs.push(p);
      expect(await p.exited, p.err() + p.out()).toBe(0);
      expect(p.out()).toMatch(/sent=2000 resp_ok=2000 .*dlr=2000 dlr_matched=2000/);
    }
  });

  it('delivers an injected MO to a receiver bind', async () => {
    sim = await startSimulator();
    const p = esme(sim.port, 0, ['--bind', 'rx', '--wait', '3']);
    procs.push(p);
    await waitFor(() => sim!.stats.binds === 1, 5_000, 'esme.pl bound');
    sim.injectMo({ from: '+447700900123', to: '12345', text: 'hello from the simulator' });
    await p.exited;
    expect(p.out()).toMatch(/mo: from=447700900123 to=12345 .*text=hello from the simulator/);
  });
});

suite('simulator against Kannel 1.4.5 (third-party ESME/gateway)', () => {
  it('carries Kannel sendsms traffic with DLRs and delivers MO to Kannel', async () => {
    sim = await startSimulator();
    const env = {
      SMSC_PORT: String(sim.port),
      SENDSMS_PORT: String(await freePort()),
      ADMIN_PORT: String(await freePort()),
      SMSBOX_PORT: String(await freePort()),
      DLR_SINK_PORT: String(await freePort()),
      MAX_PENDING_SUBMITS: '100',
      RUN_DIR: `/tmp/parley-kannel-${process.pid}`,
    };
    const kannel = run('bash', [path.join(PEERS_DIR, 'kannel', 'run-kannel.sh')], env);
    procs.push(kannel);
    await waitFor(
      () => kannel.err().includes('run-kannel: ready') || kannel.child.exitCode !== null,
      30_000,
      'Kannel ready',
    );
    expect(kannel.err()).toContain('run-kannel: ready');
    await waitFor(() => sim!.stats.binds >= 1, 10_000, 'Kannel bound to the simulator');
    const bench = run('bash', [path.join(PEERS_DIR, 'kannel', 'bench-kannel.sh'), '1000', '20'], env);
    procs.push(bench);
    expect(await bench.exited, bench.out() + bench.err()).toBe(0);
    expect(bench.out()).toMatch(/RESULT n=1000 .*accepted=1000/);
    expect(sim.stats.accepted).toBe(1000);
    sim.injectMo({ from: '+447700900124', to: '12345', text: 'hi kannel' });
    const sink = `http://127.0.0.1:${env.DLR_SINK_PORT}/stats`;
    let stats: { mo: number; moLast: Array<Record<string, string>>; dlr: number } = {
      mo: 0,
      moLast: [],
      dlr: 0,
    };
    for (let i = 0; i < 100 && stats.mo < 1; i++) {
      stats = (await (await fetch(sink)).json()) as typeof stats;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(stats.mo).toBe(1);
    expect(stats.dlr).toBe(1000);
    expect(stats.moLast[0]).toMatchObject({ text: 'hi kannel' });
  });
});
