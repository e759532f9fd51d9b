import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/metrics.ts';

describe('Grafana dashboard', () => {
  it('only plots metrics the gateway exports, with Prometheus naming', async () => {
    const dash = JSON.parse(readFileSync('grafana/dashboards/parley-overview.json', 'utf8')) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    const exported = new Set((await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set(
      dash.panels
        .flatMap((p) => p.targets.flatMap((t) => t.expr.match(/parley_[a-z_]+/g) ?? []))
        .map((n) => n.replace(/_(bucket|sum|count)$/, '')),
    );
    expect(used.size).toBeGreaterThan(8);
    for (const name of used) expect(exported.has(name), name).toBe(true);
    for (const name of exported) {
      // Node's default metrics (prom-client's own names) are checked by promtool in issue 9.
      if (!name.startsWith('parley_') || /^parley_(process|nodejs)_/.test(name)) continue;
      expect(name, 'counters end in _total, durations in _seconds').toMatch(
        /_total$|_seconds$|_binds$|_depth$|_in_flight$|_pending$/,
      );
    }
  });
});
