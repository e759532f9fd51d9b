import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  cumulativeCounter,
  mainThreadCpuWaitSeconds,
  registerEventLoopLoad,
} from '../../src/metrics/event-loop-load.ts';

async function value(registry: Registry, name: string): Promise<number | undefined> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return m ? (m.values[0]?.value ?? 0) : undefined;
}

const spin = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe('cumulativeCounter', () => {
  it('adds what the reading grew since the last render, never going back', async () => {
    const readings: Array<number | undefined> = [2, 5, undefined, 3, 7];
    let i = 0;
    const registry = new Registry();
    cumulativeCounter(registry, 'x_seconds_total', 'x', () => readings[Math.min(i++, readings.length - 1)]);
    // Created at the first reading (2), then each render reads the next.
    expect(await value(registry, 'x_seconds_total')).toBe(5);
    expect(await value(registry, 'x_seconds_total')).toBe(5); // undefined: nothing added
    expect(await value(registry, 'x_seconds_total')).toBe(5); // 3 < 5: a reading that went back
    expect(await value(registry, 'x_seconds_total')).toBe(7);
  });
});

describe('mainThreadCpuWaitSeconds', () => {
  it("reads schedstat's second field (ns) and gives undefined for anything else", () => {
    expect(mainThreadCpuWaitSeconds(() => '123456 4500000000 789\n')).toBe(4.5);
    expect(mainThreadCpuWaitSeconds(() => '')).toBeUndefined();
    expect(mainThreadCpuWaitSeconds(() => '1 x 2')).toBeUndefined();
    expect(mainThreadCpuWaitSeconds(() => '1 -5 2')).toBeUndefined();
    expect(
      mainThreadCpuWaitSeconds(() => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
  });
});

describe('registerEventLoopLoad', () => {
  it('counts the seconds the event loop was busy', async () => {
    const registry = new Registry();
    registerEventLoopLoad(registry, () => undefined);
    const before = (await value(registry, 'parley_event_loop_busy_seconds_total'))!;
    spin(120);
    const after = (await value(registry, 'parley_event_loop_busy_seconds_total'))!;
    expect(after - before).toBeGreaterThanOrEqual(0.1);
    // No schedstat: no CPU-wait counter, rather than one that stays at 0.
    expect(await value(registry, 'parley_event_loop_cpu_wait_seconds_total')).toBeUndefined();
  });

  it.runIf(process.platform === 'linux' && mainThreadCpuWaitSeconds() !== undefined)(
    'counts the seconds the main thread waited for a CPU while more threads than CPUs spin',
    async () => {
      const registry = new Registry();
      registerEventLoopLoad(registry);
      const before = (await value(registry, 'parley_event_loop_cpu_wait_seconds_total'))!;
      const hogs = Array.from(
        { length: os.availableParallelism() + 1 },
        () =>
          new Worker('const e = Date.now() + 600; while (Date.now() < e);', {
            eval: true,
          }),
      );
      try {
        await Promise.all(hogs.map((w) => new Promise((r) => w.once('online', r))));
        spin(400);
      } finally {
        await Promise.all(hogs.map((w) => w.terminate()));
      }
      const after = (await value(registry, 'parley_event_loop_cpu_wait_seconds_total'))!;
      // More runnable threads than CPUs: the main thread got about half its time or less.
      expect(after - before).toBeGreaterThan(0.02);
    },
  );
});
