import type { Logger } from '../logger.ts';
import { classifyDbError } from '../store/db-errors.ts';
import type { EventBus } from './events.ts';
import type { InboundService } from './inbound.ts';
import type { RollupResult } from './model.ts';
import type { DispatchStore, ReceiptStore } from './ports.ts';

export interface SweeperOptions {
  /** Parked receipts, MO reassembly deadlines. */
  fastMs: number;
  /** Expired leases, validity, receipt timeout. */
  slowMs: number;
  pruneMs: number;
  validityMs: number;
  receiptTimeoutMs: number;
  retentionMs: number;
  /** Parked receipts younger than this are re-matched (cross-instance races). */
  rematchWindowMs: number;
}

/**
 * The periodic work of the gateway: parked receipts re-matched and, past their TTL, counted as
 * unmatched; incomplete MO delivered at their deadline; dead instances' leases reclaimed; expired
 * and receipt-less messages finalised; old operator records pruned. Each task runs alone (never
 * overlapping itself) and survives any error, database outages included.
 */
export class Sweeper {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<string>();
  readonly stats = { unmatched: 0, reclaimed: 0, expired: 0, timedOut: 0, moExpired: 0, errors: 0 };

  constructor(
    private readonly dispatch: DispatchStore,
    private readonly receipts: ReceiptStore,
    private readonly inbound: InboundService,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly opts: SweeperOptions,
  ) {}

  start(): void {
    this.every('fast', this.opts.fastMs, () => this.fast());
    this.every('slow', this.opts.slowMs, () => this.slow());
    this.every('prune', this.opts.pruneMs, () => this.prune());
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  private every(name: string, ms: number, fn: () => Promise<void>): void {
    const t = setInterval(() => {
      if (this.running.has(name)) return;
      this.running.add(name);
      fn()
        .catch((err: unknown) => {
          this.stats.errors++;
          this.log.warn(
            { task: name, err: (err as Error).message, kind: classifyDbError(err) },
            'sweep failed; next run retries',
          );
        })
        .finally(() => this.running.delete(name));
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  private publish(r: RollupResult): void {
    this.bus.publish('message.status', r.changes);
  }

  /** Runs every task once, now (tests, and shutdown's last pass). */
  async runAll(): Promise<void> {
    await this.fast();
    await this.slow();
  }

  private async fast(): Promise<void> {
    const re = await this.receipts.rematchParked(this.opts.rematchWindowMs, 1000);
    this.publish(re.rollup);
    // Expire in rounds until the backlog is gone or this run has had its share of time, so a
    // flood of unknown ids is counted at the rate it came in.
    const gone: Array<{ carrierId: string; smscId: string }> = [];
    const until = Date.now() + Math.max(100, this.opts.fastMs / 2);
    for (;;) {
      const batch = await this.receipts.expireParked(2_000);
      gone.push(...batch);
      if (batch.length < 2_000 || Date.now() > until) break;
    }
    if (gone.length > 0) {
      this.stats.unmatched += gone.length;
      this.bus.publish(
        'receipt.unmatched',
        gone.map((g) => ({ carrierId: g.carrierId, smscId: g.smscId, cause: 'ttl' as const })),
      );
      this.log.warn(
        { count: gone.length, sample: gone.slice(0, 3) },
        'receipts never matched a sent segment within their TTL (see GET /v1/admin/receipts/unmatched)',
      );
    }
    for (let n = 2_000; n === 2_000 && Date.now() <= until; ) {
      n = await this.inbound.expireGroups(2_000);
      this.stats.moExpired += n;
    }
  }

  private async slow(): Promise<void> {
    const leases = await this.dispatch.reclaimExpiredLeases(1000);
    this.publish(leases.rollup);
    if (leases.count > 0) {
      this.stats.reclaimed += leases.count;
      this.log.warn(
        { reclaimed: leases.count },
        'reclaimed segments whose lease expired (instance died mid-send)',
      );
    }
    const expired = await this.dispatch.expireOverdue(1000, this.opts.validityMs);
    this.stats.expired += expired.count;
    this.publish(expired.rollup);
    const timedOut = await this.dispatch.timeoutSent(this.opts.receiptTimeoutMs, 1000);
    this.stats.timedOut += timedOut.count;
    this.publish(timedOut.rollup);
    if (timedOut.count > 0)
      this.log.info(
        { count: timedOut.count },
        'sent segments without a receipt ended unknown (receipt_timeout)',
      );
  }

  private async prune(): Promise<void> {
    await this.receipts.prune(this.opts.retentionMs);
  }
}
