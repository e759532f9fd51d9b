import { describe, expect, it } from 'vitest';
import { runTs } from '../helpers/processes.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('processes spawned by tests', () => {
  // Regression: a test run that was killed left two gateway processes running for 50 minutes,
  // loading the machine and every benchmark after it.
  it('stop when the test process that started them is killed outright', async () => {
    const worker = runTs('test/helpers/fixtures/spawn-sim-and-hang.ts', [], {});
    const started = await worker.waitLine((o) => o.msg === 'child started', 30_000);
    const pid = Number(started.pid);
    expect(alive(pid)).toBe(true);
    worker.child.kill('SIGKILL');
    await worker.exited;
    const until = Date.now() + 15_000;
    while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
  }, 60_000);
});
