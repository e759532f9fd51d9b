import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { toolMissing } from '../helpers/tools.ts';

const dir = path.join(import.meta.dirname, '../../grafana');

describe('Prometheus alerting rules (grafana/alerts.yml)', () => {
  it('name only metrics the gateway exports', async () => {
    const rules = readFileSync(path.join(dir, 'alerts.yml'), 'utf8');
    const named = new Set(
      [...rules.matchAll(/\b(parley_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, '')),
    );
    expect(named.size).toBeGreaterThanOrEqual(5);
    const exported = new Set(
      [...(await createMetrics().registry.metrics()).matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!),
    );
    for (const n of named) expect(exported, n).toContain(n);
  });

  it('pass promtool check rules, their unit tests (alerts.test.yml) and the config that loads them, where promtool is installed', (ctx) => {
    const missing = toolMissing('promtool', 'prometheus');
    if (missing) ctx.skip(missing);
    // Each throws with promtool's output on a non-zero exit.
    const check = execFileSync('promtool', ['check', 'rules', 'alerts.yml'], { cwd: dir, encoding: 'utf8' });
    expect(check).toContain('SUCCESS: 9 rules found');
    const test = execFileSync('promtool', ['test', 'rules', 'alerts.test.yml'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(test).toContain('SUCCESS');
    // The compose stack's Prometheus configuration loads them.
    const config = execFileSync('promtool', ['check', 'config', 'prometheus.yml'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(config).toContain('SUCCESS: 1 rule files found');
  });
});
