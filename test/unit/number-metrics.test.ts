import { describe, expect, it, vi } from 'vitest';
import { LocalBus } from '../../src/messaging/events.ts';
import { FAILURE_CLASSES, failureClass, failureClassSql } from '../../src/messaging/vocabulary.ts';
import {
  addCell,
  bucketStart,
  emptyFigures,
  grouped,
  MAX_BUCKETS,
  RefusalRecorder,
  type StatRow,
  series,
} from '../../src/metrics/number-metrics.ts';

const H = 3_600_000;
const t0 = Date.UTC(2026, 11, 3, 10, 0, 0);
const row = (number: string, hours: number, metric: string, n: number): StatRow => ({
  number,
  bucket: new Date(t0 + hours * H),
  metric,
  n,
});

describe('per-number figures', () => {
  it('add cells: failures by class with the refusals apart, clicks, the delivery ratio; unknown metrics ignored', () => {
    const f = emptyFigures();
    expect(f.deliveryRatio).toBeNull();
    addCell(f, 'sent', 8);
    addCell(f, 'delivered', 6);
    addCell(f, 'failed:carrier_filtered', 1);
    addCell(f, 'failed:quiet_hours', 2);
    addCell(f, 'refused', 2);
    addCell(f, 'failed:made_up', 5);
    addCell(f, 'segments', 11);
    addCell(f, 'clicks', 3);
    addCell(f, 'unique_clicks', 2);
    addCell(f, 'something_new', 9);
    expect(f).toEqual({
      sent: 8,
      delivered: 6,
      failed: {
        total: 3,
        refusedAtAccept: 2,
        byReason: { ...emptyFigures().failed.byReason, carrier_filtered: 1, quiet_hours: 2 },
      },
      clicked: { unique: 2, total: 3 },
      deliveryRatio: 0.75,
      segments: 11,
    });
  });

  it('series: every bucket from the floored start, cells outside the range left out, totals', () => {
    const rows = [
      row('+1', 0, 'sent', 2),
      row('+1', 2, 'sent', 3),
      row('+1', 2, 'delivered', 1),
      row('+1', 5, 'sent', 7),
      row('+1', -1, 'sent', 9),
    ];
    const s = series(rows, 'hour', new Date(t0 + 30 * 60_000), new Date(t0 + 3 * H));
    expect(s.buckets.map((b) => [b.start, b.sent])).toEqual([
      ['2026-12-03T10:00:00.000Z', 2],
      ['2026-12-03T11:00:00.000Z', 0],
      ['2026-12-03T12:00:00.000Z', 3],
    ]);
    expect(s.totals.sent).toBe(5);
    expect(s.totals.deliveryRatio).toBe(0.2);
    expect(series([], 'day', new Date(t0), new Date(t0 + 1)).buckets).toHaveLength(1);
    expect(series([], 'hour', new Date(t0), new Date(t0)).buckets).toHaveLength(0);
    expect(() => series([], 'hour', new Date(t0), new Date(t0 + (MAX_BUCKETS + 1) * H))).toThrow(RangeError);
    expect(series([], 'hour', new Date(t0), new Date(t0 + MAX_BUCKETS * H)).buckets).toHaveLength(
      MAX_BUCKETS,
    );
  });

  it('grouped by number or by UTC day, in key order', () => {
    const rows = [row('+2', 0, 'sent', 1), row('+1', 0, 'sent', 2), row('+1', 20, 'sent', 4)];
    expect(grouped(rows, 'number').map((g) => [g.key, g.sent])).toEqual([
      ['+1', 6],
      ['+2', 1],
    ]);
    expect(grouped(rows, 'day').map((g) => [g.key, g.sent])).toEqual([
      ['2026-12-03', 3],
      ['2026-12-04', 4],
    ]);
    expect(bucketStart(new Date(t0 + 90 * 60_000), 'hour').toISOString()).toBe('2026-12-03T11:00:00.000Z');
    expect(bucketStart(new Date(t0 + 90 * 60_000), 'day').toISOString()).toBe('2026-12-03T00:00:00.000Z');
  });

  it('failure classes: each reason once, SQL the same mapping', () => {
    expect(failureClass('contact_opted_out')).toBe('contact_opted_out');
    expect(failureClass('receipt_rejected')).toBe('carrier_filtered');
    expect(failureClass('carrier_rejected')).toBe('carrier_filtered');
    expect(failureClass('number_not_registered')).toBe('unregistered');
    expect(failureClass('validity_expired')).toBe('expired');
    expect(failureClass('receipt_expired')).toBe('expired');
    expect(failureClass('receipt_undeliverable')).toBe('other');
    expect(failureClass(null)).toBe('other');
    expect(failureClass('toString')).toBe('other');
    const sql = failureClassSql('reason');
    for (const c of FAILURE_CLASSES) if (c !== 'other') expect(sql).toContain(`THEN '${c}'`);
    expect(sql).toMatch(/^\(CASE reason .* ELSE 'other' END\)$/);
  });

  it('refusals at accept are written batched, and kept for the next round when the write fails', async () => {
    const bus = new LocalBus();
    const writes: Array<Array<{ metric: string; n: number; from: string }>> = [];
    let fail = true;
    const warnings: string[] = [];
    const r = new RefusalRecorder(
      bus,
      async (rows) => {
        if (fail) throw new Error('down');
        writes.push(rows.map(({ metric, n, from }) => ({ metric, n, from })));
      },
      { warn: (_o: unknown, m: string) => warnings.push(m) } as never,
      60_000,
    );
    const decided = (
      reason: 'quiet_hours' | 'contact_opted_out',
      count: number,
      decision: 'refused' | 'deferred' = 'refused',
    ) => bus.publish('message.decided', [{ accountId: 'a', from: '+1', decision, reason, count }]);
    decided('quiet_hours', 2);
    decided('contact_opted_out', 1);
    decided('quiet_hours', 3, 'deferred');
    await r.flush();
    expect(warnings).toHaveLength(1);
    decided('quiet_hours', 1);
    fail = false;
    await r.flush();
    expect(writes).toEqual([
      [
        { metric: 'failed:quiet_hours', n: 3, from: '+1' },
        { metric: 'refused', n: 4, from: '+1' },
        { metric: 'failed:contact_opted_out', n: 1, from: '+1' },
      ],
    ]);
    await r.flush();
    expect(writes).toHaveLength(1);
    await r.stop();
  });
});

describe('per-number figures at their edges', () => {
  it('no ratio without sends; a cell at the end of the range is left out; groups sorted', () => {
    const f = emptyFigures();
    addCell(f, 'delivered', 1);
    expect(f.deliveryRatio).toBeNull();
    const s = series(
      [row('+1', 3, 'sent', 1), row('+1', 2, 'sent', 1)],
      'hour',
      new Date(t0),
      new Date(t0 + 3 * H),
    );
    expect(s.totals.sent).toBe(1);
    expect(
      grouped(
        [row('+3', 0, 'sent', 1), row('+1', 0, 'sent', 1), row('+2', 0, 'sent', 1), row('+1', 1, 'sent', 1)],
        'number',
      ).map((g) => g.key),
    ).toEqual(['+1', '+2', '+3']);
  });

  it('the refusal recorder counts only its own instance, stays bounded, and flushes on stop', async () => {
    const bus = new LocalBus();
    const writes: Array<{ metric: string; n: number; from: string }> = [];
    const r = new RefusalRecorder(
      bus,
      async (rows) => void writes.push(...rows.map(({ metric, n, from }) => ({ metric, n, from }))),
      { warn: () => undefined } as never,
      60_000,
      2,
    );
    const refuse = (from: string) => ({
      accountId: 'a',
      from,
      decision: 'refused' as const,
      reason: 'contact_opted_out' as const,
      count: 1,
    });
    bus.deliver('message.decided', [refuse('+9')], 'remote');
    bus.publish('message.decided', [refuse('+1'), refuse('+2')]);
    r.start();
    await r.stop();
    expect(writes).toEqual([
      { metric: 'failed:contact_opted_out', n: 1, from: '+1' },
      { metric: 'refused', n: 1, from: '+1' },
    ]);
  });

  it('the folder folds until a round is not full (at most 20), and logs a failure', async () => {
    const { StatsFolder } = await import('../../src/metrics/number-metrics.ts');
    const rounds = [10, 10, 3];
    let calls = 0;
    const warnings: string[] = [];
    const log = { warn: (_o: unknown, m: string) => warnings.push(m) } as never;
    const f = new StatsFolder(
      { rows: async () => [], vacuum: async () => undefined, fold: async () => rounds[calls++] ?? 0 },
      log,
      10,
    );
    await f.foldAll(10);
    expect(calls).toBe(3);
    let endless = 0;
    await new StatsFolder(
      {
        rows: async () => [],
        vacuum: async () => undefined,
        fold: async () => {
          endless++;
          return 10;
        },
      },
      log,
    ).foldAll(10);
    expect(endless).toBe(20);
    await new StatsFolder(
      {
        rows: async () => [],
        vacuum: async () => undefined,
        fold: async () => {
          throw new Error('down');
        },
      },
      log,
    ).foldAll();
    expect(warnings).toEqual(['folding per-number rollups failed; retried']);
    // The deltas are vacuumed every vacuumEveryMs (autovacuum may be off), not every round.
    const vacuums: number[] = [];
    const v = new StatsFolder(
      { rows: async () => [], vacuum: async () => void vacuums.push(1), fold: async () => 0 },
      log,
      1_000,
      60_000,
    );
    const start = Date.now();
    await v.foldAll(10, start + 1_000);
    await v.foldAll(10, start + 61_000);
    await v.foldAll(10, start + 62_000);
    await v.foldAll(10, start + 121_500);
    expect(vacuums).toHaveLength(2);
    let ticks = 0;
    const timed = new StatsFolder(
      {
        rows: async () => [],
        vacuum: async () => undefined,
        fold: async () => {
          ticks++;
          return 0;
        },
      },
      log,
      5,
    );
    timed.start();
    await vi.waitFor(() => expect(ticks).toBeGreaterThan(1));
    await timed.stop();
    const after = ticks;
    // Absence can only be shown by waiting: six periods without a round.
    await new Promise((res) => setTimeout(res, 30));
    expect(ticks).toBe(after);
  });
});
