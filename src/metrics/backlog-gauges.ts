/**
 * Backlog gauges read from the database every few seconds (never on scrape: /metrics must answer
 * fast whatever the backlog): queued segments and the age of the oldest due one per number type,
 * parked receipts, pending status callbacks and the age of the oldest. Every instance samples the
 * same database; dashboards take max() across instances.
 */
import type { Logger } from '../logger.ts';
import { NUMBER_TYPES } from '../messaging/vocabulary.ts';
import type { Metrics } from './metrics.ts';
import { Periodic } from './periodic.ts';

export interface BacklogSnapshot {
  queues: Array<{ numberType: string; due: number; later: number; oldestDueSeconds: number }>;
  parkedReceipts: number;
  webhooksPending: number;
  webhookOldestSeconds: number;
}

/** Implemented by store/backlog-repo.ts. Rejects when the database fails or is too slow. */
export interface BacklogSource {
  snapshot(): Promise<BacklogSnapshot>;
}

/**
 * Samples a BacklogSource into the gauges every `everyMs`, or less often when a sample is costly:
 * the next waits at least the last one's duration divided by `maxShare`. Counting a queue is
 * O(queue): at 120,000 queued segments one sample took 189 ms of the database, every 5 s on each
 * instance (bench:limits at `--scale 1`: 7 % of PostgreSQL's statement time). A failed sample
 * keeps the last values.
 */
export class BacklogGauges {
  private readonly loop: Periodic;
  private lastMs = 0;

  constructor(
    private readonly source: BacklogSource,
    private readonly m: Metrics,
    private readonly log: Logger,
    private readonly everyMs = 5_000,
    private readonly maxShare = 0.02,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.loop = new Periodic(
      () => this.sample(),
      () => this.nextInMs(),
      0,
    );
  }

  /** When the next sample is due: `everyMs`, stretched so sampling costs at most `maxShare`. */
  nextInMs(): number {
    return Math.min(60_000, Math.max(this.everyMs, this.lastMs / this.maxShare));
  }

  start(): void {
    this.loop.start();
  }

  /** One sample into the gauges. Never throws: a failed sample leaves the last values (logged). */
  async sample(): Promise<void> {
    let s: BacklogSnapshot;
    const t0 = this.clock();
    try {
      s = await this.source.snapshot();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'backlog gauges not sampled');
      return;
    } finally {
      this.lastMs = this.clock() - t0;
    }
    // Every number type has a series (0 when its queue is empty), and a type the store names
    // that the vocabulary does not (an older row) still shows.
    const byType = new Map<string, BacklogSnapshot['queues'][number]>(s.queues.map((q) => [q.numberType, q]));
    for (const t of new Set<string>([...NUMBER_TYPES, ...byType.keys()])) {
      const q = byType.get(t);
      this.m.queueSegments.labels(t, 'due').set(q?.due ?? 0);
      this.m.queueSegments.labels(t, 'later').set(q?.later ?? 0);
      this.m.queueOldestDue.labels(t).set(q?.oldestDueSeconds ?? 0);
    }
    this.m.receiptsParked.set(s.parkedReceipts);
    this.m.webhooksPending.set(s.webhooksPending);
    this.m.webhookOldestPending.set(s.webhookOldestSeconds);
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
