import { describe, expect, it } from 'vitest';
import type { GatewayProc } from '../../bench/lib/cluster.ts';
import { offeredSingles } from '../../bench/lib/phases.ts';
import { runningTotal } from '../../bench/lib/running-total.ts';

describe('runningTotal (the bench’s PostgreSQL CPU and run-queue wait)', () => {
  it('keeps the last reading of a process that ended, so the total never goes back', () => {
    let pids = [10, 11];
    const values = new Map([
      [10, 1.0],
      [11, 2.0],
    ]);
    const total = runningTotal(
      () => pids,
      (pid) => values.get(pid) ?? 0,
    );
    expect(total()).toBe(3);
    values.set(10, 1.5);
    pids = [10]; // 11 ended: its 2.0 stays in the sum
    expect(total()).toBe(3.5);
    pids = [10, 12];
    values.set(12, 0.25);
    expect(total()).toBe(3.75);
  });

  it('ignores a read of 0 or a read that throws (a process ending as it is read)', () => {
    let mode: 'ok' | 'zero' | 'throw' = 'ok';
    const total = runningTotal(
      () => [7],
      () => {
        if (mode === 'throw') throw new Error('ENOENT');
        return mode === 'zero' ? 0 : 4;
      },
    );
    expect(total()).toBe(4);
    mode = 'zero';
    expect(total()).toBe(4);
    mode = 'throw';
    expect(total()).toBe(4);
  });
});

describe('offeredSingles (bench:accept’s open-loop load)', () => {
  it('calls onWindowStart once, after every warm-up answer and before the first measured request, and measures the window alone', async () => {
    const rate = 200;
    const warmup = rate; // min(2 s, seconds) of warm-up at the offered rate
    let issued = 0;
    let answered = 0;
    let hookCalls = 0;
    let atHook: { issued: number; answered: number } | undefined;
    let hookDoneAt = Number.POSITIVE_INFINITY;
    let firstMeasuredAt = Number.NaN;
    const gw = {
      postStatus: async () => {
        const i = issued++;
        if (i === warmup) firstMeasuredAt = performance.now();
        // Warm-up requests are slow and fail; measured ones are fast and succeed.
        await new Promise((r) => setTimeout(r, i < warmup ? 200 : 1));
        answered++;
        return i < warmup ? 500 : 202;
      },
    } as unknown as GatewayProc;
    const r = await offeredSingles(gw, 'key', rate, 1, async () => {
      hookCalls++;
      atHook = { issued, answered };
      await new Promise((res) => setTimeout(res, 50));
      hookDoneAt = performance.now();
    });
    expect(hookCalls).toBe(1);
    expect(atHook).toEqual({ issued: warmup, answered: warmup });
    expect(firstMeasuredAt).toBeGreaterThanOrEqual(hookDoneAt);
    expect(issued).toBe(warmup + rate);
    // Neither the warm-up's failures nor its 200-ms latencies are in the figures.
    expect(r.errors).toBe(0);
    expect(r.p99).toBeLessThan(150);
    expect(r.achieved).toBeGreaterThan(0);
  });
});
