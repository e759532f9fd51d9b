/**
 * The dashboard against a real Prometheus (Debian package `prometheus`; .ci/run installs it):
 * a gateway carries traffic of every kind a panel plots, Prometheus scrapes it every second,
 * and every query of every panel is evaluated through Prometheus's HTTP API — no query error,
 * no empty result.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/peers.ts';
import { waitFor } from '../helpers/smpp.ts';
import { toolMissing } from '../helpers/tools.ts';

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

describe('the Grafana dashboard on a real Prometheus', () => {
  it('has unique panel ids, the provisioned datasource by uid, every query answers with data, and the scrape passes promtool', async (ctx) => {
    const missing = toolMissing('prometheus', 'prometheus') ?? toolMissing('promtool', 'prometheus');
    if (missing) ctx.skip(missing);
    const dash = JSON.parse(readFileSync('grafana/dashboards/parley-overview.json', 'utf8')) as {
      panels: Panel[];
    };
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const provisioned = readFileSync('grafana/provisioning/datasources/prometheus.yaml', 'utf8');
    const uid = /uid:\s*(\S+)/.exec(provisioned)![1];
    for (const p of dash.panels) expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid });

    // Traffic for every panel: sends with status callbacks (paced: deferrals), receipts, MO,
    // opt-outs, unmatched receipts.
    const hooks = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end());
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => hooks.close(r)));
    const g: TestGateway = await startTestGateway({
      file: import.meta.filename,
      env: {
        PARLEY_WEBHOOK_ALLOW_NETWORKS: '127.0.0.1/32',
        PARLEY_WEBHOOK_BACKOFF_MS: '50',
        // Receipts for ids never submitted are parked, then counted unmatched when the park expires.
        PARLEY_RECEIPT_PARK_TTL_MS: '500',
        // Deferrals to plot: the account's number held to 10 segments a second.
        PARLEY_RATE_LIMITS: 'on',
        PARLEY_RATE_LIMIT_OVERRIDES: JSON.stringify({ numberPerSecond: { local: 10 } }),
      },
    });
    cleanup.push(() => g.stop());
    const gwPort = await freePort();
    await g.gw.http.listen({ port: gwPort, host: '127.0.0.1' });
    const auth = { authorization: `Bearer ${g.account.apiKey}` };
    const callback = `http://127.0.0.1:${(hooks.address() as net.AddressInfo).port}/hook`;

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

    // Traffic while Prometheus scrapes, in two rounds so that every counter moves between scrapes.
    const round = async (n: number) => {
      const sent = await g.request(
        'POST',
        '/v1/messages/batch',
        {
          messages: Array.from({ length: 20 }, (_, i) => ({
            to: `+1415555${String(2000 + n * 20 + i)}`,
            body: `dash ${n}-${i}`,
            statusCallback: callback,
          })),
        },
        auth,
      );
      const results = sent.json.results as Array<{ id?: string; error?: unknown }>;
      expect(results.filter((x) => x.error)).toEqual([]);
      await g.waitFinal(results.map((x) => x.id!));
      g.sim.injectMo({ from: `+1415555${String(3000 + n)}`, to: g.account.number, text: `reply ${n}` });
      g.sim.injectMo({ from: `+1415555${String(3100 + n)}`, to: g.account.number, text: 'STOP' });
      await g.sim.core.flood('unknown-receipts', 5, 100);
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
    for (let n = 0; n < 3; n++) await round(n);
    // Every query of every panel, evaluated until each has data (scrapes every second; parked
    // receipts expire into the unmatched count after 500 ms) or 30 s have passed.
    let empty: string[] = [];
    const evaluate = async () => {
      empty = [];
      for (const p of dash.panels)
        for (const t of p.targets) {
          // Grafana's $__rate_interval is at least four scrape intervals.
          const q = t.expr.replaceAll('$__rate_interval', '30s');
          const r = await query(q);
          expect(r.status, `${p.title}: ${q}: ${r.error}`).toBe('success');
          if ((r.data?.result.length ?? 0) === 0) empty.push(`${p.title}: ${q}`);
        }
    };
    await waitFor(() => empty.length === 0, 30_000, 'data in every panel', evaluate).catch(() => undefined);
    expect(empty).toEqual([]);
    // A scrape after all that traffic (every label set present) passes promtool's lint.
    const scrape = await (await fetch(`http://127.0.0.1:${gwPort}/metrics`)).text();
    expect(execFileSync('promtool', ['check', 'metrics'], { input: scrape, encoding: 'utf8' }).trim()).toBe(
      '',
    );
  }, 120_000);
});
