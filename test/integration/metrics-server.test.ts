import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { MetricsServer } from '../../src/metrics/metrics-server.ts';
import { waitFor } from '../helpers/smpp.ts';

const silent = { warn: () => undefined } as never;

describe('the metrics listener', () => {
  it('serves what the main thread rendered, refreshed every renderEveryMs', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'parley_test_total', help: 'x', registers: [registry] });
    let collected = 0;
    const s = new MetricsServer(registry, () => collected++, silent, {
      port: 0,
      host: '127.0.0.1',
      renderEveryMs: 100,
    });
    const url = await s.start();
    try {
      const first = await fetch(`${url}/metrics`);
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toBe(registry.contentType);
      expect(await first.text()).toContain('parley_test_total 0');
      c.inc(5);
      let text = '';
      await waitFor(
        () => text.includes('parley_test_total 5'),
        5_000,
        'the next render',
        async () => {
          text = await (await fetch(`${url}/metrics`)).text();
        },
      );
      expect(collected).toBeGreaterThan(1);
      expect((await fetch(`${url}/other`)).status).toBe(404);
      expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(404);
    } finally {
      await s.stop();
    }
  });

  it('is configured by PARLEY_METRICS_PORT and PARLEY_METRICS_RENDER_MS, validated', () => {
    expect(loadConfig({}).metricsListener).toBeUndefined();
    expect(loadConfig({ PARLEY_METRICS_PORT: '9464' }).metricsListener).toEqual({
      port: 9464,
      renderEveryMs: 1000,
    });
    expect(() => loadConfig({ PARLEY_METRICS_PORT: '70000' })).toThrow(/PARLEY_METRICS_PORT/);
    expect(() => loadConfig({ PARLEY_METRICS_PORT: '9464', PARLEY_METRICS_RENDER_MS: '5' })).toThrow(
      /PARLEY_METRICS_RENDER_MS/,
    );
  });
});
