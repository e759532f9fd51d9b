/**
 * npm run bench:smpp [-- --n 100000 --windows 10,100,1000 --runs 1]
 * One bind against the simulator in another process; for each window, Parley's src/smpp and a
 * plain `smpp` client, each in its own process, in the same run. Then the plain client against
 * the plain `smpp` server, to show whether the simulator outruns it. Prints figures and medians.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { type ClientResult, cpuSecondsOf, median, rssOf } from './proc-stats.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    windows: { type: 'string', default: '10,100,1000' },
    runs: { type: 'string', default: '1' },
    'skip-server-compare': { type: 'boolean', default: false },
  },
});
const N = Number(values.n);
const WINDOWS = values.windows!.split(',').map(Number);
const RUNS = Number(values.runs);

function startChild(
  script: string,
  args: string[],
): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', function onData(d: Buffer) {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      child.stdout!.off('data', onData);
      resolve({ child, ready: JSON.parse(buf.slice(0, nl)) });
    });
    child.once('exit', (c) => reject(new Error(`${script} exited ${c}`)));
  });
}

function runClient(script: string, port: number, window: number): Promise<ClientResult> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', script, String(port), String(N), String(window)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as ClientResult);
      } catch {
        reject(new Error(`${script} exited ${code} without a result: ${out}`));
      }
    }),
  );
}

interface Row extends ClientResult {
  server: string;
  serverCpuSeconds: number;
  serverCpuUsPerMsg: number;
  serverRssMb: number;
}

async function measure(
  script: string,
  server: { pid: number; port: number; name: string },
  window: number,
): Promise<Row> {
  const c0 = cpuSecondsOf(server.pid);
  const r = await runClient(script, server.port, window);
  const c1 = cpuSecondsOf(server.pid);
  return {
    ...r,
    server: server.name,
    serverCpuSeconds: c1 - c0,
    serverCpuUsPerMsg: ((c1 - c0) * 1e6) / N,
    serverRssMb: rssOf(server.pid).rssMb,
  };
}

const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
function print(r: Row): void {
  console.log(
    `${r.client.padEnd(10)} → ${r.server.padEnd(11)} w=${String(r.window).padEnd(5)} ok=${r.ok}/${r.n} err=${r.errors} receipts=${r.receipts}` +
      `  submit/s=${fmt(r.submitPerSec)} submit+receipt/s=${fmt(r.receiptPerSec)} resp p50=${fmt(r.p50Ms, 2)}ms p99=${fmt(r.p99Ms, 2)}ms` +
      `  client cpu=${fmt(r.cpuSeconds, 2)}s (${fmt(r.cpuUsPerMsg, 1)}µs/msg) rss=${fmt(r.rssMb)}MB peak=${fmt(r.peakRssMb)}MB` +
      `  server cpu=${fmt(r.serverCpuSeconds, 2)}s (${fmt(r.serverCpuUsPerMsg, 1)}µs/msg) rss=${fmt(r.serverRssMb)}MB`,
  );
}

const sim = await startChild('simulator/main.ts', ['--port', '0', '--control-port', '0', '--seed', '1']);
const simPort = Number(String(sim.ready.smpp).split(':')[1]);
const simulator = { pid: sim.child.pid!, port: simPort, name: 'simulator' };
console.log(
  `bench:smpp N=${N} windows=${WINDOWS.join(',')} runs=${RUNS} node=${process.version} cpus=2-core shared`,
);
const all: Row[] = [];
try {
  for (let run = 1; run <= RUNS; run++) {
    for (const w of WINDOWS) {
      for (const script of ['bench/parley-client.ts', 'bench/plain-client.ts']) {
        const r = await measure(script, simulator, w);
        all.push(r);
        print(r);
      }
    }
    if (!values['skip-server-compare']) {
      const plain = await startChild('bench/plain-server.ts', ['0']);
      try {
        const server = { pid: plain.child.pid!, port: Number(plain.ready.port), name: 'plain-server' };
        for (const script of ['bench/parley-client.ts', 'bench/plain-client.ts']) {
          const r = await measure(script, server, 100);
          all.push(r);
          print(r);
        }
      } finally {
        plain.child.kill('SIGTERM');
      }
    }
  }
} finally {
  sim.child.kill('SIGTERM');
}

console.log(`\nmedians over ${RUNS} run(s):`);
for (const w of WINDOWS) {
  const pick = (client: string, server = 'simulator') =>
    all.filter((r) => r.client === client && r.window === w && r.server === server);
  const p = pick('parley');
  const q = pick('plain-smpp');
  const pr = median(p.map((r) => r.receiptPerSec));
  const qr = median(q.map((r) => r.receiptPerSec));
  console.log(
    `w=${String(w).padEnd(5)} parley submit+receipt/s=${fmt(pr)} p99=${fmt(median(p.map((r) => r.p99Ms)), 2)}ms cpu=${fmt(median(p.map((r) => r.cpuUsPerMsg)), 1)}µs/msg` +
      ` | plain smpp=${fmt(qr)} p99=${fmt(median(q.map((r) => r.p99Ms)), 2)}ms cpu=${fmt(median(q.map((r) => r.cpuUsPerMsg)), 1)}µs/msg | ratio=${fmt(pr / qr, 2)}x`,
  );
}
for (const client of ['parley', 'plain-smpp']) {
  const ps = all.filter((r) => r.server === 'plain-server' && r.client === client);
  const ss = all.filter((r) => r.server === 'simulator' && r.client === client && r.window === 100);
  if (ps.length && ss.length) {
    console.log(
      `servers, ${client} client w=100: simulator ${fmt(median(ss.map((r) => r.receiptPerSec)))}/s at ${fmt(median(ss.map((r) => r.serverCpuUsPerMsg)), 1)}µs/msg` +
        ` vs plain smpp server ${fmt(median(ps.map((r) => r.receiptPerSec)))}/s at ${fmt(median(ps.map((r) => r.serverCpuUsPerMsg)), 1)}µs/msg`,
    );
  }
}
process.exit(0);
