/** Kannel 1.4.5 (../shared/peers) against a simulator, in the same bench run: its median DLR/s. */
import { spawn } from 'node:child_process';
import path from 'node:path';

export async function kannelDlrPerSecond(
  smscPort: number,
  n: number,
  runs: number,
  out: (s: string) => void,
): Promise<number | undefined> {
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
  const m = /median:.*dlr_per_s=(\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}
