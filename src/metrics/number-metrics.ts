/**
 * Per-number delivery figures (the account's view): sent, delivered, failed by class, clicks,
 * delivery ratio and segments, per hour or day, from the rollups the store keeps as statuses change.
 */
import type { Logger } from '../logger.ts';
import type { EventBus } from '../messaging/events.ts';
import { FAILURE_CLASSES, type FailureClass, failureClass } from '../messaging/vocabulary.ts';
import { Periodic } from './periodic.ts';

/** One rollup cell: a metric's count for a number in an hour. */
export interface StatRow {
  number: string;
  bucket: Date;
  metric: string;
  n: number;
}

/** The rollups; implemented by store/number-stats-repo.ts. */
export interface NumberStatsStore {
  /** Cells of the account's numbers (all when `numbers` is undefined) with from ≤ bucket < to. */
  rows(q: {
    accountId: string;
    numbers: readonly string[] | undefined;
    from: Date;
    to: Date;
  }): Promise<StatRow[]>;
  /** Folds pending deltas; returns how many. */
  fold(limit?: number): Promise<number>;
  /** Reclaims the space of folded deltas (VACUUM: autovacuum may be off). */
  vacuum(): Promise<void>;
}

export interface Figures {
  sent: number;
  delivered: number;
  /** `refusedAtAccept`: the part of `total` the API refused (never stored: 4xx answers). */
  failed: { total: number; refusedAtAccept: number; byReason: Record<FailureClass, number> };
  clicked: { unique: number; total: number };
  /** delivered / sent; null when nothing was sent. */
  deliveryRatio: number | null;
  segments: number;
}

/** Zero figures, every failure class present. */
export function emptyFigures(): Figures {
  return {
    sent: 0,
    delivered: 0,
    failed: {
      total: 0,
      refusedAtAccept: 0,
      byReason: Object.fromEntries(FAILURE_CLASSES.map((c) => [c, 0])) as Record<FailureClass, number>,
    },
    clicked: { unique: 0, total: 0 },
    deliveryRatio: null,
    segments: 0,
  };
}

/** Adds one cell to figures (unknown metrics are ignored: a newer instance may write more). */
export function addCell(f: Figures, metric: string, n: number): void {
  if (metric === 'sent') f.sent += n;
  else if (metric === 'delivered') f.delivered += n;
  else if (metric === 'segments') f.segments += n;
  else if (metric === 'clicks') f.clicked.total += n;
  else if (metric === 'unique_clicks') f.clicked.unique += n;
  else if (metric === 'refused') f.failed.refusedAtAccept += n;
  else if (metric.startsWith('failed:')) {
    const c = metric.slice(7) as FailureClass;
    if (c in f.failed.byReason) {
      f.failed.byReason[c] += n;
      f.failed.total += n;
    }
  }
  f.deliveryRatio = f.sent > 0 ? Math.round((f.delivered / f.sent) * 10_000) / 10_000 : null;
}

export type Interval = 'hour' | 'day';
const STEP: Record<Interval, number> = { hour: 3_600_000, day: 86_400_000 };
/** At most this many buckets per answer (a month of hours, a year of days). */
export const MAX_BUCKETS = 1_000;

/** Floors `t` to its UTC hour or day. */
export function bucketStart(t: Date, interval: Interval): Date {
  return new Date(Math.floor(t.getTime() / STEP[interval]) * STEP[interval]);
}

/**
 * The figures per bucket from `from` (floored) up to `to`, every bucket present (zeros where
 * nothing happened), and the totals. Throws RangeError over MAX_BUCKETS.
 */
export function series(
  rows: readonly StatRow[],
  interval: Interval,
  from: Date,
  to: Date,
): { buckets: Array<{ start: string } & Figures>; totals: Figures } {
  const start = bucketStart(from, interval).getTime();
  const step = STEP[interval];
  const count = Math.max(0, Math.ceil((to.getTime() - start) / step));
  if (count > MAX_BUCKETS) throw new RangeError(`at most ${MAX_BUCKETS} buckets`);
  const buckets = Array.from({ length: count }, (_, i) => ({
    start: new Date(start + i * step).toISOString(),
    ...emptyFigures(),
  }));
  const totals = emptyFigures();
  for (const r of rows) {
    const i = Math.floor((r.bucket.getTime() - start) / step);
    if (i < 0 || i >= count) continue;
    addCell(buckets[i]!, r.metric, r.n);
    addCell(totals, r.metric, r.n);
  }
  return { buckets, totals };
}

/** The figures per number, or per UTC day, over a range. */
export function grouped(
  rows: readonly StatRow[],
  groupBy: 'number' | 'day',
): Array<{ key: string } & Figures> {
  const groups = new Map<string, Figures>();
  for (const r of rows) {
    const key = groupBy === 'number' ? r.number : bucketStart(r.bucket, 'day').toISOString().slice(0, 10);
    let f = groups.get(key);
    if (!f) {
      f = emptyFigures();
      groups.set(key, f);
    }
    addCell(f, r.metric, r.n);
  }
  return [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, f]) => ({ key, ...f }));
}

/**
 * Counts messages the accept policies refused (the API answered 4xx: never stored) into the
 * figures as failed by class and as `refused`, batched every `everyMs`. Kept in memory until
 * written: a crash loses at most that interval's refusals (figures, not messages).
 */
export class RefusalRecorder {
  private pending = new Map<string, StatDeltaInput>();
  private timer: NodeJS.Timeout | undefined;
  private readonly off: () => void;

  constructor(
    bus: EventBus,
    private readonly add: (rows: readonly StatDeltaInput[]) => Promise<void>,
    private readonly log: Logger,
    private readonly everyMs = 1_000,
    private readonly maxKeys = 10_000,
  ) {
    this.off = bus.subscribe('message.decided', (evs, origin) => {
      if (origin !== 'local') return;
      for (const e of evs) {
        if (e.decision !== 'refused') continue;
        for (const metric of [`failed:${failureClass(e.reason)}`, 'refused']) {
          const key = `${e.accountId} ${e.from} ${metric}`;
          const p = this.pending.get(key);
          if (p) p.n += e.count;
          else if (this.pending.size < this.maxKeys)
            this.pending.set(key, {
              accountId: e.accountId,
              from: e.from,
              at: new Date(),
              metric,
              n: e.count,
            });
        }
      }
    });
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.everyMs);
  }

  /** Writes what is counted; on failure keeps it for the next round (logged). */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const rows = [...this.pending.values()];
    this.pending = new Map();
    try {
      await this.add(rows);
    } catch (err) {
      for (const r of rows) {
        const key = `${r.accountId} ${r.from} ${r.metric}`;
        if (!this.pending.has(key) && this.pending.size < this.maxKeys) this.pending.set(key, r);
      }
      this.log.warn({ err: (err as Error).message }, 'refusal figures not stored; retried');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.off();
    await this.flush();
  }
}

/** A rollup delta to add (store/number-stats-repo.ts). */
export interface StatDeltaInput {
  accountId: string;
  from: string;
  at: Date;
  metric: string;
  n: number;
}

/** Folds rollup deltas in the background every `everyMs` (more at once while they keep coming). */
export class StatsFolder {
  private readonly loop: Periodic;
  private lastVacuum = Date.now();

  constructor(
    private readonly store: NumberStatsStore,
    private readonly log: Logger,
    everyMs = 1_000,
    private readonly vacuumEveryMs = 60_000,
  ) {
    this.loop = new Periodic(() => this.foldAll(), everyMs);
  }

  start(): void {
    this.loop.start();
  }

  /**
   * Folds until a round finds fewer than a full batch; every `vacuumEveryMs` also vacuums the
   * deltas (every fold deletes what it folded: without a vacuum the table only grows, and reads
   * scan it). Never throws (logs).
   */
  async foldAll(limit = 50_000, now = Date.now()): Promise<void> {
    try {
      for (let i = 0; i < 20; i++) if ((await this.store.fold(limit)) < limit) break;
      if (now - this.lastVacuum >= this.vacuumEveryMs) {
        this.lastVacuum = now;
        await this.store.vacuum();
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'folding per-number rollups failed; retried');
    }
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
