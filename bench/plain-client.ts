// biome-ignore-all lint/suspicious/noExplicitAny: the plain library has no types; these baselines use it untyped on purpose.
/** The `smpp` library used directly, as its README shows, with a window counter; prints a ClientResult JSON line. */

import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { type ClientResult, percentile, rssOf } from './proc-stats.ts';

const require = createRequire(import.meta.url);
const smpp: any = require('smpp');

const [port, n, window] = process.argv.slice(2).map(Number) as [number, number, number];
const lat = new Float64Array(n);
let latN = 0;
let receipts = 0;
let ok = 0;
let errors = 0;
let sent = 0;
let inflight = 0;
let tSubmitted = 0;
let tEnd = 0;

const session = smpp.connect({ host: '127.0.0.1', port });
session.socket.setNoDelay(true);
session.on('error', (e: Error) => {
  process.stderr.write(`plain client error: ${e.message}\n`);
});
let finish: () => void = () => undefined;
const finished = new Promise<void>((r) => (finish = r));
session.on('deliver_sm', (pdu: { response: () => unknown }) => {
  session.send(pdu.response());
  if (++receipts === n) {
    tEnd = performance.now();
    finish();
  }
});
await new Promise<void>((resolve, reject) =>
  session.bind_transceiver(
    { system_id: 'plain', password: 'pw', interface_version: 0x34 },
    (pdu: { command_status: number }) =>
      pdu.command_status === 0 ? resolve() : reject(new Error(`bind ${pdu.command_status}`)),
  ),
);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const pump = () => {
  while (inflight < window && sent < n) {
    const i = sent++;
    inflight++;
    const ts = performance.now();
    session.submit_sm(
      {
        source_addr: '12345',
        destination_addr: `1555${i}`,
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        registered_delivery: 1,
        short_message: `Parley bench message ${i}`,
      },
      (pdu: { command_status: number }) => {
        lat[latN++] = performance.now() - ts;
        inflight--;
        if (pdu.command_status === 0) ok++;
        else errors++;
        if (ok + errors === n) tSubmitted = performance.now();
        pump();
      },
    );
  }
};
pump();
await Promise.race([finished, new Promise((r) => setTimeout(r, 120_000))]);
if (!tEnd) tEnd = performance.now();
const cpu = process.cpuUsage(cpu0);
const sorted = lat.subarray(0, latN).sort();
const result: ClientResult = {
  client: 'plain-smpp',
  window,
  n,
  ok,
  errors,
  receipts,
  submitPerSec: (ok * 1000) / ((tSubmitted || tEnd) - t0),
  receiptPerSec: (receipts * 1000) / (tEnd - t0),
  p50Ms: percentile(sorted, 50),
  p99Ms: percentile(sorted, 99),
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  cpuUsPerMsg: (cpu.user + cpu.system) / n,
  rssMb: process.memoryUsage().rss / 2 ** 20,
  peakRssMb: rssOf(process.pid).peakMb,
};
session.destroy();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
