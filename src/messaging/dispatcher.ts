import type { Logger } from '../logger.ts';
import { backoffDelay } from '../smpp/backoff.ts';
import type { SubmitOutcome } from '../smpp/carrier.ts';
import { messageIdKeys } from '../smpp/receipt.ts';
import type { SubmitFields } from '../smpp/session-types.ts';
import { Batcher } from '../store/batcher.ts';
import type { ClaimedSegment, DispatchRepo, RollupResult, SegmentOutcome } from '../store/dispatch-repo.ts';
import type { ReceiptService } from './receipt-service.ts';
import type { Router } from './router.ts';

export interface DispatcherOptions {
  claimBatch: number;
  /** Segments submitted but not yet written back, across all carriers. */
  maxInFlight: number;
  leaseMs: number;
  pollMs: number;
  /** How often leases and validity are swept. */
  sweepMs: number;
  retry: { initialMs: number; maxMs: number; multiplier: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** submit_sm fields for a stored segment: E.164 as international TON/NPI, short codes as network-specific. */
export function submitFieldsFor(seg: ClaimedSegment): SubmitFields {
  const shortCode = seg.numberType === 'short_code';
  return {
    serviceType: '',
    sourceAddr: seg.from.replace(/^\+/, ''),
    sourceAddrTon: shortCode ? 3 : 1,
    sourceAddrNpi: shortCode ? 0 : 1,
    destinationAddr: seg.to.replace(/^\+/, ''),
    destAddrTon: 1,
    destAddrNpi: 1,
    esmClass: seg.esmClass,
    protocolId: 0,
    priorityFlag: 0,
    validityPeriod: '',
    registeredDelivery: 1,
    dataCoding: seg.dataCoding,
    shortMessage: seg.usePayloadTlv ? Buffer.alloc(0) : seg.payload,
    messagePayload: seg.usePayloadTlv ? seg.payload : undefined,
  };
}

/**
 * Maps a carrier's answer to where the segment goes next. A submit that may have reached the SMSC
 * (timeout, dropped bind) is re-sent at most once, marked possibleDuplicate; a second such answer
 * fails it as SUBMIT_OUTCOME_UNKNOWN rather than risk a third copy.
 */
export function outcomeFor(
  seg: ClaimedSegment,
  carrierId: string,
  o: SubmitOutcome,
  retry: DispatcherOptions['retry'],
): SegmentOutcome {
  const base = { messageId: seg.messageId, idx: seg.idx };
  switch (o.kind) {
    case 'ok':
      return { ...base, status: 'sent', carrierId, smscId: o.messageId, idKeys: messageIdKeys(o.messageId) };
    case 'failed':
      return { ...base, status: 'failed', carrierId, commandStatus: o.commandStatus, reason: o.reason };
    default:
      if (o.possiblySubmitted) {
        if (seg.resends >= 1)
          return { ...base, status: 'failed', carrierId, reason: 'SUBMIT_OUTCOME_UNKNOWN' };
        return { ...base, status: 'queued', delayMs: 0, possibleDuplicate: true, reason: o.code };
      }
      return {
        ...base,
        status: 'queued',
        delayMs: backoffDelay(retry, seg.attempts - 1),
        possibleDuplicate: false,
        reason: o.code,
      };
  }
}

/**
 * Moves stored segments to carriers: claims due work with a lease, submits through the router,
 * and writes outcomes back in batches (each followed by the message roll-up). Sweeps expired
 * leases (a dead instance's work) and overdue segments.
 */
export class Dispatcher {
  private inFlight = 0;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private roomWaiter: (() => void) | undefined;
  private readonly writer: Batcher<SegmentOutcome, undefined>;
  /** SMSC ids whose 'sent' outcome is being written, keyed carrier + id key. */
  private readonly writing = new Map<string, Promise<void>>();
  onOutcome: (o: SegmentOutcome) => void = () => undefined;
  onRollup: (r: RollupResult) => void = () => undefined;

  constructor(
    private readonly repo: DispatchRepo,
    private readonly router: Router,
    private readonly receipts: ReceiptService,
    private readonly log: Logger,
    private readonly opts: DispatcherOptions,
  ) {
    this.writer = new Batcher(
      async (items) => {
        await this.writeOutcomes(items);
        return items.map(() => undefined);
      },
      { maxItems: 2000, maxDelayMs: 5, concurrency: 2 },
    );
  }

  get pendingSegments(): number {
    return this.inFlight;
  }

  start(): void {
    this.stopped = false;
    this.loop = this.run();
    this.sweeper = setInterval(() => void this.sweep(), this.opts.sweepMs);
    this.sweeper.unref();
  }

  /** Stops claiming; waits for outstanding submits to be answered (carriers stop later) and written. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweeper);
    this.roomWaiter?.();
    await this.loop;
    const until = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < until) await sleep(10);
    await this.writer.drain();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.router.anyBound()) {
        await sleep(this.opts.pollMs * 5);
        continue;
      }
      const room = this.opts.maxInFlight - this.inFlight;
      if (room < Math.min(this.opts.claimBatch, this.opts.maxInFlight) / 4) {
        await new Promise<void>((r) => {
          this.roomWaiter = r;
          setTimeout(r, this.opts.pollMs);
        });
        continue;
      }
      let segs: ClaimedSegment[];
      const limit = Math.min(room, this.opts.claimBatch);
      try {
        segs = await this.repo.claim(limit, this.opts.leaseMs);
      } catch (err) {
        this.log.error({ err }, 'claim failed; retrying');
        await sleep(1_000);
        continue;
      }
      for (const s of segs) this.submit(s);
      if (segs.length < limit) await sleep(this.opts.pollMs);
    }
  }

  private submit(seg: ClaimedSegment): void {
    this.inFlight++;
    const done = (o: SegmentOutcome) => {
      this.onOutcome(o);
      const written = this.writer.add(o);
      if (o.status === 'sent') {
        const settled = written.then(
          () => undefined,
          () => undefined,
        );
        for (const k of o.idKeys) this.writing.set(`${o.carrierId}\u0000${k}`, settled);
        void settled.then(() => {
          for (const k of o.idKeys)
            if (this.writing.get(`${o.carrierId}\u0000${k}`) === settled)
              this.writing.delete(`${o.carrierId}\u0000${k}`);
        });
      }
      written
        .catch((err) =>
          this.log.error(
            { err, messageId: o.messageId },
            'outcome not written; the lease will return the segment',
          ),
        )
        .finally(() => {
          this.inFlight--;
          if (this.roomWaiter && this.opts.maxInFlight - this.inFlight >= this.opts.claimBatch / 4) {
            const w = this.roomWaiter;
            this.roomWaiter = undefined;
            w();
          }
        });
    };
    if (seg.expiresAt.getTime() <= Date.now()) {
      done({ messageId: seg.messageId, idx: seg.idx, status: 'expired', reason: 'VALIDITY_EXPIRED' });
      return;
    }
    const carrier = this.router.pick(seg.numberType, seg.to);
    if (!carrier) {
      done({
        messageId: seg.messageId,
        idx: seg.idx,
        status: 'queued',
        delayMs: 1_000,
        possibleDuplicate: false,
        reason: 'NO_CARRIER_BOUND',
      });
      return;
    }
    carrier
      .submit(submitFieldsFor(seg))
      .then((o) => done(outcomeFor(seg, carrier.cfg.id, o, this.opts.retry)));
  }

  /** A promise for an in-flight 'sent' write of one of these ids, if any (see ReceiptService.pendingWrite). */
  pendingWrite(carrierId: string, keys: string[]): Promise<void> | undefined {
    for (const k of keys) {
      const p = this.writing.get(`${carrierId}\u0000${k}`);
      if (p) return p;
    }
    return undefined;
  }

  private async writeOutcomes(items: SegmentOutcome[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const rollup = await this.repo.applyOutcomes(items);
        this.onRollup(rollup);
        break;
      } catch (err) {
        if (attempt >= 8) throw err;
        this.log.warn({ err: (err as Error).message, attempt }, 'writing outcomes failed; retrying');
        await sleep(backoffDelay({ initialMs: 100, maxMs: 5_000, multiplier: 2 }, attempt));
      }
    }
    const pairs = items.flatMap((o) =>
      o.status === 'sent' ? o.idKeys.map((key) => ({ carrierId: o.carrierId, key })) : [],
    );
    await this.receipts
      .idsStored(pairs)
      .catch((err) => this.log.error({ err }, 'matching parked receipts failed'));
  }

  private async sweep(): Promise<void> {
    try {
      const reclaimed = await this.repo.reclaimExpiredLeases();
      if (reclaimed > 0)
        this.log.warn({ reclaimed }, 'reclaimed segments whose lease expired (instance died mid-send)');
      await this.repo.expireOverdue();
    } catch (err) {
      this.log.error({ err }, 'sweep failed');
    }
  }
}
