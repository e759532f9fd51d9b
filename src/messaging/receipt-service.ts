import type { Logger } from '../logger.ts';
import { messageIdKeys, type Receipt, type ReceiptState } from '../smpp/receipt.ts';
import { Batcher } from '../store/batcher.ts';
import type { DispatchRepo, ReceiptUpdate, RollupResult } from '../store/dispatch-repo.ts';
import type { ReceiptParking } from './parking.ts';

const SEGMENT_STATUS: Partial<Record<ReceiptState, ReceiptUpdate['status']>> = {
  DELIVERED: 'delivered',
  UNDELIVERABLE: 'undelivered',
  EXPIRED: 'expired',
  DELETED: 'failed',
  REJECTED: 'rejected',
  UNKNOWN: 'undelivered',
  SKIPPED: 'failed',
};

/** Segment status for a final receipt state; undefined for intermediate ones (ENROUTE, ACCEPTED). */
export function segmentStatusFor(state: ReceiptState): ReceiptUpdate['status'] | undefined {
  return SEGMENT_STATUS[state];
}

export interface ReceiptStats {
  applied: number;
  parked: number;
  unmatchedExpired: number;
  intermediate: number;
}

/**
 * Turns receipts into segment status. Writes are batched; a receipt whose SMSC id is not stored
 * yet is parked and matched when the id appears (or on a periodic retry); after the TTL it is
 * counted and logged. The SMSC is answered only once the receipt is stored or parked.
 */
export class ReceiptService {
  private readonly writer: Batcher<ReceiptUpdate, boolean>;
  private timer: NodeJS.Timeout | undefined;
  readonly stats: ReceiptStats = { applied: 0, parked: 0, unmatchedExpired: 0, intermediate: 0 };
  onRollup: (r: RollupResult) => void = () => undefined;
  /**
   * When this instance has just received the submit_sm_resp for one of these ids and its write is
   * in flight, a promise that settles once it is stored: the receipt then matches at once instead
   * of being parked (the usual race, since SMSCs send receipts right behind the response).
   */
  pendingWrite: (carrierId: string, keys: string[]) => Promise<void> | undefined = () => undefined;

  constructor(
    private readonly repo: DispatchRepo,
    private readonly parking: ReceiptParking,
    private readonly log: Logger,
    private readonly ttlMs: number,
  ) {
    this.writer = new Batcher(
      async (items) => {
        const { matched, rollup } = await this.repo.applyReceipts(items);
        this.onRollup(rollup);
        return matched;
      },
      { maxItems: 2000, maxDelayMs: 5, concurrency: 2 },
    );
  }

  start(): void {
    this.timer = setInterval(
      () => void this.sweep().catch((err) => this.log.error({ err }, 'receipt sweep failed')),
      1_000,
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.writer.drain();
  }

  /** Stores one receipt from `carrierId`; resolves when it is applied or parked. */
  async handle(carrierId: string, r: Receipt): Promise<void> {
    const status = segmentStatusFor(r.state);
    if (!status) {
      this.stats.intermediate++;
      return;
    }
    const update: ReceiptUpdate = {
      carrierId,
      idKeys: messageIdKeys(r.messageId),
      status,
      errorCode: r.errorCode,
      reason: `RECEIPT_${r.state}`,
    };
    if (update.idKeys.length === 0) return;
    // The submit_sm_resp that precedes a receipt in the same TCP read is registered a few
    // microtasks later; one macrotask turn lets it land so the check below sees it.
    await new Promise<void>((r) => setImmediate(r));
    const pending = this.pendingWrite(carrierId, update.idKeys);
    if (pending) await pending;
    if (await this.writer.add(update)) {
      this.stats.applied++;
      return;
    }
    await this.parking.park(update, this.ttlMs);
    this.stats.parked++;
  }

  /** Segments just got SMSC ids: apply receipts that were waiting for them. */
  async idsStored(pairs: Array<{ carrierId: string; key: string }>): Promise<void> {
    // No shortcut on the local parking size: with Redis, another instance may hold the receipt.
    if (pairs.length === 0) return;
    const waiting = await this.parking.take(pairs);
    await Promise.all(waiting.map((u) => this.retry(u)));
  }

  private async retry(u: ReceiptUpdate): Promise<void> {
    if (await this.writer.add(u)) this.stats.applied++;
    else await this.parking.park(u, this.ttlMs);
  }

  private async sweep(): Promise<void> {
    for (const u of await this.parking.expired(Date.now())) {
      this.stats.unmatchedExpired++;
      this.log.warn(
        { carrier: u.carrierId, keys: u.idKeys, status: u.status },
        'receipt never matched a sent segment; dropped after TTL',
      );
    }
    const local = this.parking.local();
    if (local.length === 0) return;
    const pairs = local.flatMap((u) => u.idKeys.map((key) => ({ carrierId: u.carrierId, key })));
    await this.idsStored(pairs);
  }
}
