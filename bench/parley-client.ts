/** One Parley bind (src/smpp Carrier) pushing N submits at window W; prints a ClientResult JSON line. */
import { performance } from 'node:perf_hooks';
import { parseCarrierConfig } from '../src/config/carrier-config.ts';
import { createLogger } from '../src/logger.ts';
import { Carrier } from '../src/smpp/carrier.ts';
import { encodeMessage } from '../src/smpp/encoding/segment.ts';
import { fields } from '../test/helpers/smpp.ts';
import type { ClientResult } from './proc-stats.ts';

const [port, n, window] = process.argv.slice(2).map(Number) as [number, number, number];
const lat = new Float64Array(n);
let latN = 0;
let receipts = 0;
let done: () => void = () => undefined;
const finished = new Promise<void>((r) => (done = r));
let tEnd = 0;

const carrier = new Carrier(
  parseCarrierConfig({
    id: 'bench',
    host: '127.0.0.1',
    port,
    systemId: 'bench',
    password: 'pw',
    windowSize: window,
    queueTimeoutMs: 600_000,
  }),
  {
    onReceipt: () => {
      if (++receipts === n) {
        tEnd = performance.now();
        done();
      }
    },
    onMo: () => undefined,
    onSubmitResponse: (ms) => {
      if (latN < n) lat[latN++] = ms;
    },
  },
  createLogger({ level: 'warn' }),
);
carrier.start();
while (carrier.boundTransmitters === 0) await new Promise((r) => setTimeout(r, 10));

const cpu0 = process.cpuUsage();
const t0 = performance.now();
let ok = 0;
let errors = 0;
let tSubmitted = 0;
let next = 0;
const MAX_QUEUED = 5_000;
await new Promise<void>((resolveAll) => {
  const feed = () => {
    while (next < n && carrier.queued < MAX_QUEUED) {
      const i = next++;
      const m = encodeMessage(`Parley bench message ${i}`);
      const p = m.parts[0]!;
      void carrier
        .submit(fields(`1555${i}`, '', { dataCoding: m.dataCoding, shortMessage: p.bytes }))
        .then((o) => {
          if (o.kind === 'ok') ok++;
          else errors++;
          if (ok + errors === n) {
            tSubmitted = performance.now();
            resolveAll();
          } else if (carrier.queued < MAX_QUEUED / 2) feed();
        });
    }
  };
  feed();
});
await Promise.race([finished, new Promise((r) => setTimeout(r, 60_000))]);
if (!tEnd) tEnd = performance.now();
const cpu = process.cpuUsage(cpu0);
const sorted = lat.subarray(0, latN).sort();
const mem = process.memoryUsage();
const { rssOf, percentile } = await import('./proc-stats.ts');
const result: ClientResult = {
  client: 'parley',
  window,
  n,
  ok,
  errors,
  receipts,
  submitPerSec: (ok * 1000) / (tSubmitted - t0),
  receiptPerSec: (receipts * 1000) / (tEnd - t0),
  p50Ms: percentile(sorted, 50),
  p99Ms: percentile(sorted, 99),
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  cpuUsPerMsg: (cpu.user + cpu.system) / n,
  rssMb: mem.rss / 2 ** 20,
  peakRssMb: rssOf(process.pid).peakMb,
};
await carrier.stop(1_000);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
