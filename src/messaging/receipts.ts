import type { Logger } from '../logger.ts';
import type { Receipt, ReceiptState } from '../smpp/receipt.ts';
import { Batcher } from '../store/batcher.ts';
import { classifyDbError } from '../store/db-errors.ts';
import { type EventBus, observedWrite } from './events.ts';
import type { ReceiptUpdate } from './model.ts';
import type { ReceiptStore } from './ports.ts';
import type { FinalStatus, Reason } from './vocabulary.ts';

const FINAL: Partial<Record<ReceiptState, { status: FinalStatus; reason: Reason | null }>> = {
  DELIVERED: { status: 'delivered', reason: null },
  UNDELIVERABLE: { status: 'undelivered', reason: 'receipt_undeliverable' },
  EXPIRED: { status: 'expired', reason: 'receipt_expired' },
  DELETED: { status: 'failed', reason: 'receipt_deleted' },
  REJECTED: { status: 'rejected', reason: 'receipt_rejected' },
  UNKNOWN: { status: 'unknown', reason: 'receipt_unknown' },
  SKIPPED: { status: 'failed', reason: 'receipt_skipped' },
};

/** Segment status and reason for a final receipt state; undefined for intermediate ones (ENROUTE, ACCEPTED). */
export function segmentStatusFor(
  state: ReceiptState,
): { status: FinalStatus; reason: Reason | null } | undefined {
  return FINAL[state];
}

/** An SMSC id as kept for operators: printable, bounded. */
function printableId(id: string): string {
  return id.replace(/\p{Cc}/gu, '').slice(0, 128);
}

/**
 * Turns receipts into segment status. Writes are batched; a receipt whose SMSC id is not stored
 * yet is parked in the same write (so every receipt is stored before the SMSC gets its answer)
 * and applied when the id is written (see DispatchStore.applyOutcomes) or by the sweeper.
 */
export class ReceiptService {
  private readonly writer: Batcher<ReceiptUpdate, boolean>;
  readonly stats = { applied: 0, parked: 0, intermediate: 0, invalid: 0 };
  /**
   * When this instance has just received the submit_sm_resp for one of these ids and its write is
   * in flight, a promise that settles once it is stored: the receipt then matches at once instead
   * of being parked (the usual race, since SMSCs send receipts right behind the response).
   */
  pendingWrite: (carrierId: string, keys: readonly string[]) => Promise<void> | undefined = () => undefined;

  constructor(
    private readonly store: ReceiptStore,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly ttlMs: number,
  ) {
    this.writer = new Batcher(
      observedWrite(bus, 'receipts', async (items: ReceiptUpdate[]) => {
        const { matched, rollup } = await this.store.applyReceipts(items, this.ttlMs);
        this.bus.publish('message.status', rollup.changes);
        this.bus.publish(
          'receipt.received',
          items.map((u, i) => ({
            carrierId: u.carrierId,
            state: u.status,
            outcome: matched[i] ? 'applied' : 'parked',
            errorCode: u.errorCode,
          })),
        );
        return matched;
      }),
      { maxItems: 2000, maxDelayMs: 5, concurrency: 2, isolate: (err) => classifyDbError(err) === 'data' },
    );
  }

  get pending(): number {
    return this.writer.pending;
  }

  async stop(): Promise<void> {
    await this.writer.drain();
  }

  /**
   * Stores one receipt from `carrierId`; resolves when it is applied or parked, rejects when the
   * database is unavailable (the SMSC is then asked to resend).
   */
  async handle(carrierId: string, r: Receipt, candidates: string[]): Promise<void> {
    const final = segmentStatusFor(r.state);
    if (!final) {
      this.stats.intermediate++;
      this.bus.publish('receipt.received', [{ carrierId, state: r.state, outcome: 'intermediate' }]);
      return;
    }
    if (candidates.length === 0) {
      this.stats.invalid++;
      this.bus.publish('receipt.unmatched', [
        { carrierId, smscId: printableId(r.messageId), cause: 'invalid' },
      ]);
      return;
    }
    const update: ReceiptUpdate = {
      carrierId,
      smscId: printableId(r.messageId),
      candidates,
      status: final.status,
      errorCode: r.errorCode,
      reason: final.reason,
    };
    // The submit_sm_resp that precedes a receipt in the same TCP read is registered a few
    // microtasks later; one macrotask turn lets it land so the check below sees it.
    await new Promise<void>((res) => setImmediate(res));
    const pending = this.pendingWrite(carrierId, candidates);
    if (pending !== undefined) await pending;
    try {
      if (await this.writer.add(update)) this.stats.applied++;
      else this.stats.parked++;
    } catch (err) {
      if (classifyDbError(err) !== 'data') throw err;
      // The database refuses this receipt's values: resending cannot help; count it and let it go.
      this.stats.invalid++;
      this.log.warn(
        { carrier: carrierId, code: (err as { code?: string }).code },
        'receipt refused by the database; dropped',
      );
      this.bus.publish('receipt.unmatched', [{ carrierId, smscId: update.smscId, cause: 'invalid' }]);
    }
  }
}
