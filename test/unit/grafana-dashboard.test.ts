import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/metrics.ts';

const dashboards = readdirSync('grafana/dashboards')
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({
    file: f,
    dash: JSON.parse(readFileSync(path.join('grafana/dashboards', f), 'utf8')) as {
      uid: string;
      links?: Array<{ url: string }>;
      panels: Array<{ id: number; targets: Array<{ expr: string }> }>;
    },
  }));

describe('Grafana dashboards', () => {
  it('only plot metrics the gateway exports; every panel query aggregates across instances', async () => {
    const exported = new Set((await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    for (const { file, dash } of dashboards) {
      const used = new Set(
        dash.panels
          .flatMap((p) => p.targets.flatMap((t) => t.expr.match(/parley_[a-z_]+/g) ?? []))
          .map((n) => n.replace(/_(bucket|sum|count)$/, '')),
      );
      expect(used.size, file).toBeGreaterThan(4);
      for (const name of used) expect(exported.has(name), `${file}: ${name}`).toBe(true);
      for (const p of dash.panels)
        for (const t of p.targets)
          expect(t.expr, `${file} panel ${p.id}`).toMatch(/^\(?\s*(sum|max|histogram_quantile|count)\b/);
      // Links between the dashboards point at dashboards that exist.
      for (const l of dash.links ?? [])
        expect(
          dashboards.map((d) => `/d/${d.dash.uid}`),
          file,
        ).toContain(l.url);
    }
  });

  it('every metric the README and the benchmark log name is exported', async () => {
    const exported = new Set((await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const docs = readFileSync('README.md', 'utf8') + readFileSync('docs/benchmarks.md', 'utf8');
    const named = new Set(
      (docs.match(/parley_[a-z_]+/g) ?? []).map((n) => n.replace(/_(bucket|sum|count)$/, '')),
    );
    expect(named.size).toBeGreaterThan(20);
    expect([...named].filter((n) => !exported.has(n))).toEqual([]);
  });

  it('name metrics the Prometheus way: counters _total, histograms in base units, gauges not _total', async () => {
    for (const m of await createMetrics().registry.getMetricsAsJSON()) {
      // Node's default metrics (prom-client's own names) are checked by promtool on a scrape.
      if (!m.name.startsWith('parley_') || /^parley_(process|nodejs)_/.test(m.name)) continue;
      const type = String(m.type);
      if (type === 'counter') expect(m.name).toMatch(/_total$/);
      else if (type === 'histogram') expect(m.name).toMatch(/_seconds$/);
      else expect(m.name, type).not.toMatch(/_total$/);
    }
  });
});
