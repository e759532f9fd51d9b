import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventLoopDelayJob, sampleEventLoopDelay } from '../../src/metrics/event-loop-delay.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('sampleEventLoopDelay', () => {
  it('observes how late the timer fired, not its period, and nothing after stop', async () => {
    vi.useFakeTimers();
    let t = 1_000;
    const seen: number[] = [];
    const stop = sampleEventLoopDelay({ observe: (s) => void seen.push(s) }, 10, () => t);
    t += 10;
    await vi.advanceTimersByTimeAsync(10);
    expect(seen).toEqual([0]);
    // The loop was busy for 45 ms past the next due time.
    t += 55;
    await vi.advanceTimersByTimeAsync(10);
    expect(seen[1]).toBeCloseTo(0.045, 6);
    t += 10;
    await vi.advanceTimersByTimeAsync(10);
    expect(seen[2]).toBe(0);
    stop();
    t += 100;
    await vi.advanceTimersByTimeAsync(100);
    expect(seen).toHaveLength(3);
  });

  it('feeds a cumulative histogram that a render does not reset (the lag gauges are reset by every render)', async () => {
    vi.useFakeTimers();
    let t = 0;
    const m = createMetrics();
    const stop = sampleEventLoopDelay(m.eventLoopDelay, 10, () => t);
    const count = async () => {
      const text = await m.registry.metrics();
      return Number(/^parley_event_loop_delay_seconds_count (\d+)$/m.exec(text)?.[1]);
    };
    for (let i = 0; i < 5; i++) {
      t += 10;
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(await count()).toBe(5);
    t += 40; // one tick 30 ms late
    await vi.advanceTimersByTimeAsync(10);
    const text = await m.registry.metrics();
    expect(await count()).toBe(6);
    expect(text).toMatch(/^parley_event_loop_delay_seconds_bucket\{le="0.025"\} 5$/m);
    expect(text).toMatch(/^parley_event_loop_delay_seconds_bucket\{le="0.03"\} 6$/m);
    stop();
  });

  it('sees a blocked event loop on real timers', async () => {
    const seen: number[] = [];
    const stop = sampleEventLoopDelay({ observe: (s) => void seen.push(s) });
    await vi.waitFor(() => expect(seen.length).toBeGreaterThan(0));
    const until = performance.now() + 60;
    while (performance.now() < until) {
      // busy: the timer cannot fire
    }
    await vi.waitFor(() => expect(Math.max(...seen)).toBeGreaterThanOrEqual(0.04));
    stop();
  });

  it('as the gateway’s job: a second start does not sample twice, stop ends it', async () => {
    vi.useFakeTimers();
    const seen: number[] = [];
    const job = new EventLoopDelayJob({ observe: (s) => void seen.push(s) });
    job.start();
    job.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(seen.length).toBeGreaterThanOrEqual(9);
    expect(seen.length).toBeLessThanOrEqual(10);
    await job.stop();
    const n = seen.length;
    await vi.advanceTimersByTimeAsync(100);
    expect(seen).toHaveLength(n);
  });
});
