/**
 * The dashboards against a real Prometheus (Debian package `prometheus`; .ci/run installs it):
 * a gateway carries traffic of every kind a panel plots, Prometheus scrapes it every second,
 * and every query of every panel is evaluated through Prometheus's HTTP API — no query error,
 * no empty result.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/peers.ts';
import { waitFor } from '../helpers/smpp.ts';
import { toolMissing } from '../helpers/tools.ts';
import { dropBinds, mixedTraffic } from '../helpers/traffic.ts';

const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

interface Panel {
  id: number;
  title: string;
  datasource?: { type: string; uid: string };
  targets: Array<{ expr: string }>;
}

interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
}

const DASHBOARDS = readdirSync('grafana/dashboards')
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(path.join('grafana/dashboards', f), 'utf8')) as Dashboard);

describe('the Grafana dashboards on a real Prometheus', () => {
  it('have unique panel ids, the provisioned datasource by uid, every query answers with data, every metric has samples, and the scrape passes promtool', async (ctx) => {
    const missing = toolMissing('prometheus', 'prometheus') ?? toolMissing('promtool', 'prometheus');
    if (missing) ctx.skip(missing);
    expect(DASHBOARDS.map((d) => d.uid).sort()).toEqual([
      'parley-carriers',
      'parley-compliance',
      'parley-overview',
      'parley-webhooks',
    ]);
    const provisioned = readFileSync('grafana/provisioning/datasources/prometheus.yaml', 'utf8');
    const uid = /uid:\s*(\S+)/.exec(provisioned)![1];
    for (const dash of DASHBOARDS) {
      const ids = dash.panels.map((p) => p.id);
      expect(new Set(ids).size, dash.uid).toBe(ids.length);
      for (const p of dash.panels)
        expect(p.datasource, `${dash.uid}: ${p.title}`).toEqual({ type: 'prometheus', uid });
    }

    // Traffic for every panel: failures, throttles, deferrals, MO of every kind, opt-outs, quiet
    // hours, clicks, unmatched and malformed receipts, status callbacks (some refused), a dropped bind.
    const traffic = await mixedTraffic(import.meta.filename);
    cleanup.push(() => traffic.stop());
    const g = traffic.g;
    const gwPort = await freePort();
    await g.gw.http.listen({ port: gwPort, host: '127.0.0.1' });

    const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-prom-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: parley\n    static_configs:\n      - targets: ['127.0.0.1:${gwPort}']\n`,
    );
    const promPort = await freePort();
    const prom: ChildProcess = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: 'ignore' },
    );
    cleanup.push(() => prom.kill('SIGKILL'));
    const query = async (q: string) => {
      const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      return (await r.json()) as { status: string; error?: string; data?: { result: unknown[] } };
    };

    let up: unknown[] = [];
    await waitFor(
      () => up.length > 0,
      30_000,
      'Prometheus scraping the gateway',
      async () => {
        up =
          (await query('up{job="parley"} == 1').catch(() => ({ data: { result: [] } }))).data?.result ?? [];
      },
    );
    // Traffic while Prometheus scrapes, in rounds, so that every counter moves between scrapes.
    await traffic.round(0);
    await dropBinds(g);
    await traffic.round(1);
    await traffic.round(2);
    // Every query of every panel, evaluated until each has data (scrapes every second; parked
    // receipts expire into the unmatched count after 500 ms) or 30 s have passed; and every
    // metric a dashboard names has samples of its own (a query may add `or vector(0)`).
    const names = new Set(
      DASHBOARDS.flatMap((d) =>
        d.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/parley_[a-z_]+/g) ?? [])),
      ),
    );
    let empty: string[] = [];
    const evaluate = async () => {
      empty = [];
      for (const dash of DASHBOARDS)
        for (const p of dash.panels)
          for (const t of p.targets) {
            // Grafana's $__rate_interval is at least four scrape intervals.
            const q = t.expr.replaceAll('$__rate_interval', '30s');
            const r = await query(q);
            expect(r.status, `${dash.uid}: ${p.title}: ${q}: ${r.error}`).toBe('success');
            if ((r.data?.result.length ?? 0) === 0) empty.push(`${dash.uid}: ${p.title}: ${q}`);
          }
      for (const n of names) {
        const r = await query(`count({__name__="${n}"})`);
        if ((r.data?.result.length ?? 0) === 0) empty.push(`no samples of ${n}`);
      }
    };
    await waitFor(() => empty.length === 0, 30_000, 'data in every panel', evaluate).catch(() => undefined);
    expect(empty).toEqual([]);
    // A scrape after all that traffic (every label set present) passes promtool's lint.
    const scrape = await (await fetch(`http://127.0.0.1:${gwPort}/metrics`)).text();
    expect(execFileSync('promtool', ['check', 'metrics'], { input: scrape, encoding: 'utf8' }).trim()).toBe(
      '',
    );
  }, 180_000);
});
