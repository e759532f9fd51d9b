import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { toolMissing } from '../helpers/tools.ts';

describe('metric names', () => {
  it('follow Prometheus conventions: counters end _total, nothing else does, one parley_ prefix (regression: three process gauges ended _total)', async () => {
    const m = createMetrics();
    const text = await m.registry.metrics();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((x) => [x[1]!, x[2]!] as const);
    expect(types.length).toBeGreaterThan(20);
    for (const [name, type] of types) {
      expect(name, name).toMatch(/^parley_[a-z0-9_]+$/);
      expect(name, name).not.toMatch(/^parley_parley_/);
      if (type === 'counter') expect(name, name).toMatch(/_total$/);
      else expect(name, `${name} is a ${type}`).not.toMatch(/_total$/);
    }
  });

  it('pass promtool check metrics, where promtool is installed', async (ctx) => {
    const missing = toolMissing('promtool', 'prometheus');
    if (missing) ctx.skip(missing);
    const text = await createMetrics().registry.metrics();
    // Throws (with promtool's findings) on exit status ≠ 0.
    const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(out.trim()).toBe('');
  });
});
