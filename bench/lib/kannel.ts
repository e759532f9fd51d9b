/** Kannel 1.4.5 (../shared/peers) against a simulator, in the same bench run. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { median } from '../proc-stats.ts';
import { startSim } from './cluster.ts';

/**
 * Runs `../shared/peers/kannel/bench-e2e.sh` (one Kannel start, `runs` runs of N messages) against
 * the SMSC on `smscPort`; returns each run's DLR/s in order ([] when it printed none, e.g. the
 * peers are not installed).
 */
async function kannelRuns(
  smscPort: number,
  n: number,
  runs: number,
  out: (s: string) => void,
): Promise<number[]> {
  const script = path.resolve('..', 'shared', 'peers', 'kannel', 'bench-e2e.sh');
  out(`kannel: ${script} against the same simulator (window 100, N=${n}, ${runs} runs)`);
  const k = spawn('bash', [script, String(n)], {
    env: {
      ...process.env,
      SMSC: 'external',
      SMSC_PORT: String(smscPort),
      MAX_PENDING_SUBMITS: '100',
      RUNS: String(runs),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  k.stdout.on('data', (d) => {
    text += d;
    out(String(d).trimEnd());
  });
  await new Promise((r) => k.once('exit', r));
  return [...text.matchAll(/^run \d+: RESULT .*\bdlr_per_s=(\d+)/gm)].map((m) => Number(m[1]));
}

/**
 * Kannel runs interleaved with the bench's own: `after(label)` runs Kannel (a simulator of its
 * own, started and stopped around it) right after a run of `label`, so that each mode is compared
 * with Kannel on the machine as fast as it was then. Each start makes two runs and keeps the
 * second: the first warms Kannel and the simulator (the JIT of a fresh Node process), as our runs'
 * warm-up does for the gateway. A start that printed no figure is reported and left out.
 */
export class InterleavedKannel {
  private readonly runs = new Map<string, number[]>();

  constructor(
    private readonly n: number,
    private readonly out: (s: string) => void,
  ) {}

  async after(label: string): Promise<void> {
    const sim = await startSim();
    try {
      const dlr = (await kannelRuns(sim.port, this.n, 2, this.out))[1];
      if (dlr !== undefined) this.runs.set(label, [...(this.runs.get(label) ?? []), dlr]);
      else this.out(`kannel: no figure after a ${label} run (see its output above)`);
    } finally {
      await sim.stop();
    }
  }

  /** Median DLR/s of the Kannel runs beside `label`'s; undefined when there were none. */
  median(label: string): number | undefined {
    const rs = this.runs.get(label);
    return rs && rs.length > 0 ? median(rs) : undefined;
  }

  /** Every Kannel figure of the invocation, per mode, for the closing lines. */
  summary(): string {
    const all = [...this.runs.values()].flat();
    if (all.length === 0) return 'no figure';
    const per = [...this.runs].map(([k, rs]) => `${k} ${rs.join(', ')}`).join('; ');
    return `DLR/s=${median(all)} (median of ${all.length} runs interleaved with ours, each the second of its Kannel start, same simulator: ${per})`;
  }
}
