import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePdu } from '../../src/smpp/pdu-codec.ts';
import {
  carrierConfig,
  okIds,
  simHarness,
  startSimulator,
  TestCarrier,
  tally,
  waitFor,
} from '../helpers/smpp.ts';

const h = simHarness();

describe('transport', () => {
  it('binds over TLS, verifying the SMSC certificate against a CA file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    h.sim = await startSimulator('default', { tls: { key: readFileSync(key), cert: readFileSync(cert) } });
    h.tc = new TestCarrier(carrierConfig(h.sim.port, { tls: { caFile: cert, rejectUnauthorized: true } }));
    await h.tc.waitBound();
    const out = await h.tc.submitMany(200);
    expect(tally(out)).toEqual({ ok: 200 });
    await waitFor(() => h.tc!.matchedReceipts(okIds(out)).size === 200, 5_000, 'receipts over TLS');
    // Without the CA the handshake fails and the bind keeps retrying instead of talking in clear.
    const untrusted = new TestCarrier(carrierConfig(h.sim.port, { tls: true, queueTimeoutMs: 200 }));
    await waitFor(() => untrusted.carrier.binds[0]!.counters.bindFailures >= 1, 3_000, 'TLS failure');
    expect(untrusted.carrier.binds[0]!.counters.binds).toBe(0);
    await untrusted.stop();
  });

  it('answers an unbind from the SMSC, closes, and binds again', async () => {
    h.sim = await startSimulator();
    h.tc = new TestCarrier(carrierConfig(h.sim.port));
    await h.tc.waitBound();
    expect(h.sim.unbindAll()).toBe(1);
    await waitFor(() => h.tc!.carrier.binds[0]!.counters.binds === 2, 3_000, 'rebind after SMSC unbind');
    expect(tally(await h.tc.submitMany(10))).toEqual({ ok: 10 });
  });

  it('stops writing when the socket buffer is full instead of growing memory', async () => {
    let peer: net.Socket | undefined;
    const server = net.createServer((s) => {
      peer = s;
      s.on('error', () => undefined);
      s.once('data', (d) => {
        s.write(encodePdu('bind_transceiver_resp', d.readUInt32BE(12), { system_id: 'SLOW' }));
        s.pause(); // never reads again: the kernel buffers fill, then ours
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    h.tc = new TestCarrier(
      carrierConfig(port, {
        windowSize: 10_000,
        writeHighWaterMark: 64 * 1024,
        responseTimeoutMs: 60_000,
        queueTimeoutMs: 3_000,
      }),
    );
    await h.tc.waitBound();
    const big = Buffer.alloc(10_000, 0x41);
    const pending = h.tc.submitMany(40_000, { shortMessage: Buffer.alloc(0), messagePayload: big });
    await new Promise((r) => setTimeout(r, 1_500));
    const inFlight = h.tc.carrier.binds[0]!.inFlight;
    // A full window would be 100 MB, far past what loopback buffers hold: the socket must stop the bind first.
    expect(inFlight).toBeLessThan(10_000);
    expect(h.tc.carrier.queued).toBeGreaterThan(0);
    expect(h.tc.carrier.queued + inFlight).toBe(40_000);
    // No reconnect to a listener that is gone: what was queued times out as retryable.
    server.close();
    peer?.destroy();
    const out = await pending;
    expect(out.every((o) => o.kind === 'retryable')).toBe(true);
  });
});
