/**
 * Every counter and histogram the gateway exports moves under the traffic that should move it:
 * mixed traffic (failures, throttles, MO of every kind, opt-outs, a quiet-hours deferral, clicks,
 * unmatched and malformed receipts, a dropped bind) through one gateway, its registry read before
 * and after. Gauges must have a series after it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { dropBinds, mixedTraffic, type Traffic } from '../helpers/traffic.ts';

let t: Traffic | undefined;
afterAll(async () => t?.stop());

/** Metrics that only a fault this test does not cause moves, and the test that covers each. */
const NOT_HERE: Record<string, string> = {
  // a click the database could not record: test/unit/link-service.test.ts ("counted lost")
  parley_link_clicks_lost_total: 'database failure',
  // the main thread waiting for a CPU (a machine short of it): test/unit/event-loop-load.test.ts
  parley_event_loop_cpu_wait_seconds_total: 'CPU contention',
};

async function totals(t: Traffic) {
  const out = new Map<string, { type: string; total: number; series: number }>();
  // A scrape first: some gauges are sampled when /metrics is asked for.
  await t.g.request('GET', '/metrics');
  for (const m of await t.g.gw.metrics.registry.getMetricsAsJSON()) {
    if (!m.name.startsWith('parley_') || /^parley_(process|nodejs)_/.test(m.name)) continue;
    const values = m.values as Array<{ value: number; metricName?: string }>;
    const counted =
      String(m.type) === 'histogram' ? values.filter((v) => v.metricName?.endsWith('_count')) : values;
    out.set(m.name, {
      type: String(m.type),
      total: counted.reduce((s, v) => s + v.value, 0),
      series: values.length,
    });
  }
  return out;
}

describe('metrics under mixed traffic', () => {
  it('every counter and histogram moves, every gauge has a series', async () => {
    t = await mixedTraffic(import.meta.filename);
    const before = await totals(t);
    await t.round(0);
    await dropBinds(t.g);
    await t.round(1);
    const after = await totals(t);
    const still: string[] = [];
    const noSeries: string[] = [];
    for (const [name, a] of after) {
      if (name in NOT_HERE) continue;
      if (a.type === 'gauge') {
        if (a.series === 0) noSeries.push(name);
      } else if (a.total <= (before.get(name)?.total ?? 0)) still.push(name);
    }
    expect(still).toEqual([]);
    expect(noSeries).toEqual([]);
    const text = await t.g.gw.metrics.registry.metrics();
    // A few that say the traffic was what it should be.
    expect(text).toMatch(
      /parley_smpp_submit_responses_total\{carrier="sim",command_status="ESME_RTHROTTLED"\} [1-9]/,
    );
    expect(text).toMatch(
      /parley_accept_decisions_total\{decision="refused",reason="contact_opted_out"\} [1-9]/,
    );
    expect(text).toMatch(/parley_accept_decisions_total\{decision="deferred",reason="quiet_hours"\} [1-9]/);
    expect(text).toMatch(/parley_mo_classified_total\{kind="help"\} [1-9]/);
    expect(text).toMatch(/parley_smpp_reconnects_total\{carrier="sim"\} [1-9]/);
    expect(text).toMatch(/parley_link_redirects_total\{agent="bot"\} [1-9]/);
    expect(text).not.toMatch(/\+1\d{10}/);
  }, 180_000);
});
