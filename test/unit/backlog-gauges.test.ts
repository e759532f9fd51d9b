import { describe, expect, it } from 'vitest';
import { BacklogGauges } from '../../src/metrics/backlog-gauges.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';

describe('the backlog gauges', () => {
  it('give every number type a series, keep the last values when the database fails, and never throw', async () => {
    const m = createMetrics();
    const warnings: string[] = [];
    let fail = false;
    const g = new BacklogGauges(
      {
        snapshot: async () => {
          if (fail) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
          return {
            queues: [{ numberType: 'local', due: 7, later: 2, oldestDueSeconds: 12.5 }],
            parkedReceipts: 3,
            webhooksPending: 4,
            webhookOldestSeconds: 60,
          };
        },
      },
      m,
      { warn: (_o: unknown, msg: string) => warnings.push(msg) } as never,
    );
    await g.sample();
    const text = async () => m.registry.metrics();
    expect(await text()).toContain('parley_queue_segments{number_type="local",state="due"} 7');
    expect(await text()).toContain('parley_queue_segments{number_type="short_code",state="due"} 0');
    expect(await text()).toContain('parley_queue_oldest_due_age_seconds{number_type="local"} 12.5');
    fail = true;
    await g.sample();
    expect(warnings).toEqual(['backlog gauges not sampled']);
    expect(await text()).toContain('parley_webhook_pending 4');
    await g.stop();
  });

  it('sample less often when a sample is costly: at most 2 % of the time (regression: a 189 ms count every 5 s per instance)', async () => {
    // The sample's cost on a clock of the test's own (a timer may fire a little early or, on a
    // loaded machine, much later: CI saw a 190-ms sleep measured as 189.97 ms).
    let cost = 1;
    let clock = 0;
    const g = new BacklogGauges(
      {
        snapshot: async () => {
          clock += cost;
          if (cost >= 1_000) throw new Error('canceling statement due to statement timeout');
          return { queues: [], parkedReceipts: 0, webhooksPending: 0, webhookOldestSeconds: 0 };
        },
      },
      createMetrics(),
      { warn: () => undefined } as never,
      5_000,
      0.02,
      () => clock,
    );
    await g.sample();
    expect(g.nextInMs()).toBe(5_000);
    cost = 190;
    await g.sample();
    expect(g.nextInMs()).toBeGreaterThanOrEqual(9_500);
    expect(g.nextInMs()).toBeLessThan(20_000);
    // A failed sample that took long counts too; the wait is capped at a minute.
    cost = 1_300;
    await g.sample();
    expect(g.nextInMs()).toBe(60_000);
    await g.stop();
  });
});
