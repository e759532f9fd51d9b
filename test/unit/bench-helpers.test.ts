import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GatewayProc } from '../../bench/lib/cluster.ts';
import { finalIn, metricSum, offeredSingles } from '../../bench/lib/phases.ts';
import { runningTotal } from '../../bench/lib/running-total.ts';
import { parseStealSeconds, stealSeconds } from '../../bench/proc-stats.ts';

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

  it('warms up for `warmupSeconds` when given (bench:accept --warmup), none at 0', async () => {
    const rate = 100;
    for (const [warmupSeconds, expected] of [
      [1.5, 150],
      [0, 0],
    ] as const) {
      let issued = 0;
      let atHook = -1;
      const gw = {
        postStatus: async () => {
          issued++;
          return 202;
        },
      } as unknown as GatewayProc;
      await offeredSingles(
        gw,
        'key',
        rate,
        1,
        async () => {
          atHook = issued;
        },
        warmupSeconds,
      );
      expect(atHook).toBe(expected);
      expect(issued).toBe(expected + rate);
    }
  });
});

describe('finalIn / metricSum (the drain’s one scrape per sample)', () => {
  const text = [
    '# HELP parley_message_status_total Message status changes.',
    '# TYPE parley_message_status_total counter',
    'parley_message_status_total{status="sending",reason="none",number_type="local"} 900',
    'parley_message_status_total{status="sent",reason="none",number_type="local"} 800',
    'parley_message_status_total{status="delivered",reason="none",number_type="local"} 700',
    'parley_message_status_total{status="delivered",reason="none",number_type="toll_free"} 5',
    'parley_message_status_total{status="undelivered",reason="carrier",number_type="local"} 3',
    'parley_message_status_total{status="failed",reason="invalid_number",number_type="local"} 2',
    'parley_message_status_total_created{status="delivered"} 1700000000',
    'parley_segments_submit_total{carrier="sim",result="ok"} 810',
    'parley_segments_submit_total{carrier="sim",result="SMPP_THROTTLED"} 4',
    'parley_up 1',
  ].join('\n');

  it('counts every final status across label sets, and nothing that is not final or not that metric', () => {
    expect(finalIn(text)).toBe(700 + 5 + 3 + 2);
  });

  it('sums the series whose labels match, and a metric without labels', () => {
    expect(metricSum(text, 'parley_segments_submit_total', 'result="ok"')).toBe(810);
    expect(metricSum(text, 'parley_segments_submit_total')).toBe(814);
    expect(metricSum(text, 'parley_up')).toBe(1);
    expect(metricSum(text, 'parley_absent')).toBe(0);
  });
});

describe('parseStealSeconds (the hypervisor’s steal in the benches’ figures)', () => {
  it('reads the 8th figure of the cpu line, in ticks of 1/100 s', () => {
    const stat =
      'cpu  104460 0 20938 220640 1747 0 3322 2950 0 0\n' +
      'cpu0 52928 0 9661 111197 382 0 1509 1600 0 0\n' +
      'cpu1 51531 0 11276 109442 1365 0 1812 1350 0 0\n';
    expect(parseStealSeconds(stat)).toBe(29.5);
  });

  it('is 0 where the kernel reports no steal or the text is not /proc/stat', () => {
    expect(parseStealSeconds('cpu  1 2 3 4 5 6 7\n')).toBe(0);
    expect(parseStealSeconds('intr 1 2 3\n')).toBe(0);
    expect(parseStealSeconds('')).toBe(0);
  });

  it('reads this machine’s /proc/stat, or 0 without one', () => {
    if (!existsSync('/proc/stat')) {
      expect(stealSeconds()).toBe(0);
      return;
    }
    // Steal only grows: a reading of the file between two of stealSeconds' lies between them.
    const before = stealSeconds();
    const text = readFileSync('/proc/stat', 'utf8');
    const after = stealSeconds();
    expect(text.startsWith('cpu ')).toBe(true);
    expect(parseStealSeconds(text)).toBeGreaterThanOrEqual(before);
    expect(parseStealSeconds(text)).toBeLessThanOrEqual(after);
  });
});
