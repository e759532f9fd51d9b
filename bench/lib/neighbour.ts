import { type ChildProcess, spawn } from 'node:child_process';
import { cpuSecondsOf } from '../proc-stats.ts';

// Busy for `share` of every 20-ms period, asleep the rest: a neighbour on the machine's CPUs.
const LOOP = `const share = Number(process.argv[1]); const period = 20;
function tick() { const end = Date.now() + period * share; while (Date.now() < end) {} setTimeout(tick, period * (1 - share)); }
tick();`;

/**
 * Processes that take CPU from everything else on the machine while a bench runs (`--neighbour
 * 0.5,0.5`: two, each busy half of the time), to see how much room a latency figure has before a
 * slower or busier VM of the kind would break it. Each share in (0, 1]: the bench's arguments
 * are checked before this starts.
 */
export class Neighbours {
  private readonly children: ChildProcess[] = [];

  constructor(shares: number[]) {
    for (const share of shares)
      this.children.push(spawn(process.execPath, ['-e', LOOP, String(share)], { stdio: 'ignore' }));
    process.once('exit', () => this.stop());
  }

  get count(): number {
    return this.children.length;
  }

  /** CPU seconds the neighbours have used so far (0 for one that already exited). */
  cpuSeconds(): number {
    let total = 0;
    for (const c of this.children) {
      try {
        if (c.pid !== undefined) total += cpuSecondsOf(c.pid);
      } catch {
        // exited: its CPU is no longer readable, and it no longer takes any
      }
    }
    return total;
  }

  stop(): void {
    for (const c of this.children) c.kill('SIGKILL');
  }
}
