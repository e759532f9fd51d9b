import { describe, expect, it } from 'vitest';
import { createMetrics, HTTP_DURATION_BUCKETS } from '../../src/metrics/metrics.ts';

const count = (text: string, le: string) =>
  Number(
    new RegExp(
      `^parley_http_request_duration_seconds_bucket\\{le="${le.replace('.', '\\.')}",route="/v1/messages",method="POST",status_class="2xx"\\} (\\d+)$`,
      'm',
    ).exec(text)?.[1],
  );

describe('HTTP request duration buckets', () => {
  it('tell a p99 just over the accept objective (25 ms) from one twice as long (regression: both read "≤ 50 ms")', async () => {
    const m = createMetrics();
    m.httpDuration.labels('/v1/messages', 'POST', '2xx').observe(0.026);
    m.httpDuration.labels('/v1/messages', 'POST', '2xx').observe(0.049);
    const text = await m.registry.metrics();
    expect(count(text, '0.025')).toBe(0);
    expect(count(text, '0.03')).toBe(1);
    expect(count(text, '0.04')).toBe(1);
    expect(count(text, '0.05')).toBe(2);
  });

  it('step by at most 5 ms between 10 and 30 ms, ascending', () => {
    const around = HTTP_DURATION_BUCKETS.filter((b) => b >= 0.01 && b <= 0.03);
    expect(around[0]).toBe(0.01);
    expect(around.at(-1)).toBe(0.03);
    for (let i = 1; i < around.length; i++)
      expect(around[i]! - around[i - 1]!).toBeLessThanOrEqual(0.005 + 1e-9);
    expect([...HTTP_DURATION_BUCKETS].sort((a, b) => a - b)).toEqual([...HTTP_DURATION_BUCKETS]);
  });
});
