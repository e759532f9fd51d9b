import type { Logger } from '../logger.ts';
import { backoffDelay } from '../smpp/backoff.ts';
import { Batcher } from '../store/batcher.ts';
import { classifyDbError } from '../store/db-errors.ts';
import { nextClaimSize } from './claim-size.ts';
import { dataCodingFor, profileKey, sameSplit } from './encode-profile.ts';
import { type EventBus, type GatewayEvents, observedWrite } from './events.ts';
import { type Encoded, type FailoverItem, type FailoverStep, failoverSteps } from './failover-encode.ts';
import type { ClaimedSegment, SegmentOutcome } from './model.ts';
import { MsTimers } from './ms-timers.ts';
import { outcomeFor, submitFieldsFor } from './outcome.ts';
import type { Pipeline, SlotTicket, Verdict } from './pipeline.ts';
import type { DestinationBackoff } from './policies.ts';
import type { CarrierLink, DispatchStore } from './ports.ts';
import type { Router } from './router.ts';
import { SlotReports } from './slot-reports.ts';
import type { Reason } from './vocabulary.ts';

export interface DispatcherOptions {
  /** The most segments a claim takes (fewer while deciding a full one takes long: nextClaimSize). */
  claimBatch: number;
  /** Segments submitted but not yet written back, across all carriers. */
  maxInFlight: number;
  leaseMs: number;
  /** The pause after a claim that found less than it asked for (the queue is drained). */
  pollMs: number;
  retry: { initialMs: number; maxMs: number; multiplier: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A paced send slot from the policies: write at `at`, never after `by` (epoch ms). */
type Slot = { at?: number | undefined; by?: number | undefined; ticket?: SlotTicket | undefined } | undefined;

/**
 * Moves stored segments to carriers: claims due work with a lease, runs the dispatch policies on
 * each claimed batch (validity, destination back-off, a bound carrier, and those of later
 * issues), routes, encodes for the chosen carrier's profile and submits; writes outcomes back in
 * batches (each with its message roll-up, published as `message.status` events). A deferred or
 * retried segment goes back to the database with its next time and holds no lease.
 */
export class Dispatcher {
  private inFlight = 0;
  private stopped = true;
  private stopDeadline = Number.POSITIVE_INFINITY;
  private loop: Promise<void> | undefined;
  private roomWaiter: (() => void) | undefined;
  private readonly writer: Batcher<SegmentOutcome, undefined>;
  /** SMSC id keys whose 'sent' outcome is being written: carrier + key → settles when stored. */
  private readonly writing = new Map<string, Promise<void>>();
  private results: Array<GatewayEvents['submit.result']> = [];
  private readonly deferred = new Map<Reason, number>();
  private readonly guards: Array<(seg: ClaimedSegment) => boolean> = [];
  private readonly reports: SlotReports;
  /** Paced segments waiting for their slot (one timer per millisecond, not per segment). */
  private readonly slots = new MsTimers();
  /** The next claim's size (see nextClaimSize). */
  private claimSize: number;

  constructor(
    private readonly store: DispatchStore,
    private readonly router: Router,
    private readonly pipeline: Pipeline<ClaimedSegment>,
    private readonly backoff: DestinationBackoff,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly opts: DispatcherOptions,
  ) {
    this.reports = new SlotReports(bus);
    this.claimSize = opts.claimBatch;
    this.writer = new Batcher(
      observedWrite(bus, 'outcomes', async (items: SegmentOutcome[]) => {
        await this.writeOutcomes(items);
        return items.map(() => undefined);
      }),
      { maxItems: 2000, maxDelayMs: 5, concurrency: 2 },
    );
  }

  get pendingSegments(): number {
    return this.inFlight;
  }

  start(): void {
    this.stopped = false;
    this.loop = this.run();
  }

  /** Stops claiming; waits (bounded) for outstanding submits to be answered and written. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    this.stopDeadline = Date.now() + timeoutMs;
    this.roomWaiter?.();
    await this.loop;
    while (this.inFlight > 0 && Date.now() < this.stopDeadline) await sleep(10);
    await this.writer.drain();
  }

  /** A promise for an in-flight 'sent' write of one of these id keys, if any (receipts wait for it). */
  pendingWrite(carrierId: string, keys: readonly string[]): Promise<void> | undefined {
    if (this.writing.size === 0) return undefined;
    for (const k of keys) {
      const p = this.writing.get(`${carrierId}\u0000${k}`);
      if (p !== undefined) return p;
    }
    return undefined;
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
      const limit = Math.min(room, this.claimSize);
      if (this.store.unconfirmedClaims > 0) {
        try {
          const n = await this.store.releaseUnconfirmedClaims();
          if (n > 0)
            this.log.warn({ segments: n }, 'segments of a claim whose answer was lost returned to the queue');
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'releasing unconfirmed claims failed; retrying');
          await sleep(1_000);
          continue;
        }
      }
      let segs: ClaimedSegment[];
      const t0 = performance.now();
      try {
        const claimed = await this.store.claim(limit, this.opts.leaseMs);
        segs = claimed.segments;
        this.bus.publish('db.write', [
          { writer: 'claim', items: segs.length, seconds: (performance.now() - t0) / 1000, ok: true },
        ]);
        this.bus.publish('message.status', claimed.rollup.changes);
      } catch (err) {
        // Logged by the write-failure log (at most once per 10 s per kind), counted by the metrics.
        this.bus.publish('db.write', [
          { writer: 'claim', items: 0, seconds: (performance.now() - t0) / 1000, ok: false, error: err },
        ]);
        await sleep(1_000);
        continue;
      }
      const t1 = performance.now();
      if (segs.length > 0) await this.dispatch(segs);
      // Timed from the claim's answer: a slow claim (a busy database) is not made faster by
      // claiming less; slow decisions (a bulk load under rate limits) are.
      this.claimSize = nextClaimSize(
        this.claimSize,
        this.opts.claimBatch,
        segs.length,
        performance.now() - t1,
      );
      if (segs.length < limit) await sleep(this.opts.pollMs);
    }
  }

  private async dispatch(segs: ClaimedSegment[]): Promise<void> {
    this.inFlight += segs.length;
    let verdicts: Verdict[];
    try {
      verdicts = await this.pipeline.run(segs);
    } catch (err) {
      // A policy could not load its context: nothing was decided, the batch waits a little.
      this.log.warn({ err: (err as Error).message }, 'dispatch policies failed; batch deferred');
      for (const seg of segs) this.done(seg, this.defer(seg, Date.now() + 1_000, 'temporary_error'));
      return;
    }
    const reencode: Array<FailoverItem<Slot>> = [];
    segs.forEach((seg, i) => {
      const d = verdicts[i]!.decision;
      if (d.kind === 'reject') {
        this.done(seg, { messageId: seg.messageId, idx: seg.idx, status: d.status, reason: d.reason });
        return;
      }
      if (d.kind === 'defer') {
        this.done(seg, this.defer(seg, d.until.getTime(), d.reason));
        return;
      }
      const carrier = this.router.pick(seg.numberType, seg.to);
      if (!carrier) {
        this.done(seg, this.defer(seg, Date.now() + 1_000, 'no_carrier_bound'));
        return;
      }
      const slot = d.at === undefined ? undefined : d;
      const key = profileKey(carrier.profile);
      if (seg.profile === key || seg.profile === '') this.submit(seg, carrier, seg, slot);
      else if (sameSplit(seg.profile, key))
        this.submit(
          seg,
          carrier,
          // Object.assign, not `{ ...seg, … }` (a spread followed by more properties is slow on Node 20, see outcome.ts).
          Object.assign({}, seg, { dataCoding: dataCodingFor(seg.dataCoding, carrier.profile) }),
          slot,
        );
      else reencode.push({ seg, carrier, slot });
    });
    if (reencode.length > 0) await this.reencode(reencode);
  }

  /** Failover to a carrier that cuts text differently (see failoverSteps). */
  private async reencode(items: Array<FailoverItem<Slot>>): Promise<void> {
    let steps: Array<FailoverStep<Slot>>;
    try {
      steps = await failoverSteps(items, this.store);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 're-encoding failed; segments deferred');
      for (const { seg, slot } of items) {
        this.reports.unusedSlot(slot?.ticket);
        this.done(seg, this.defer(seg, Date.now() + 1_000, 're_encoding'));
      }
      return;
    }
    for (const x of steps)
      if (x.kind === 'submit') this.submit(x.seg, x.carrier, x.encoded, x.slot);
      else {
        this.reports.unusedSlot(x.slot?.ticket);
        this.release();
      }
  }

  private defer(seg: ClaimedSegment, until: number, reason: Reason): SegmentOutcome {
    // Counted per reason and published once per turn of the event loop (a batch defers many).
    if (this.deferred.size === 0)
      queueMicrotask(() => {
        const evs = [...this.deferred].map(([r, count]) => ({ reason: r, count }));
        this.deferred.clear();
        this.bus.publish('segment.deferred', evs);
      });
    this.deferred.set(reason, (this.deferred.get(reason) ?? 0) + 1);
    return {
      messageId: seg.messageId,
      idx: seg.idx,
      status: 'queued',
      delayMs: Math.max(0, until - Date.now()),
      dueAt: until,
      possibleDuplicate: false,
      reason,
      deferred: true,
    };
  }

  /**
   * Adds a last-moment check: asked right before a segment's PDU is written (it may have waited in
   * the carrier's queue since the dispatch policies passed it); false withdraws it, and it is
   * claimed again, where the policies decide.
   */
  addSubmitGuard(stillWanted: (seg: ClaimedSegment) => boolean): void {
    this.guards.push(stillWanted);
  }

  private submit(seg: ClaimedSegment, carrier: CarrierLink, encoded: Encoded, slot?: Slot): void {
    // A paced segment waits for its slot in flight (at most the limits' horizon, lease held).
    // Checked again when the timer fires: Node measures a timer from the event loop's cached
    // time, which a long turn leaves behind the clock, so it can fire early; early is never sent.
    if (slot?.at !== undefined && slot.at > Date.now()) {
      this.slots.add(slot.at, () => this.submit(seg, carrier, encoded, slot));
      return;
    }
    this.submitNow(seg, carrier, encoded, slot);
  }

  private submitNow(seg: ClaimedSegment, carrier: CarrierLink, encoded: Encoded, slot: Slot): void {
    const guards = this.guards;
    const by = slot?.by;
    const at = slot?.at;
    let reported = false;
    // Written after `by` it would crowd the slots after it at the carrier: withdrawn instead.
    // Written before it, the policy that gave the slot hears how late (once: a resend is not a
    // second write of the slot), and holds back the slot a second after it if it was late.
    const stillWanted =
      guards.length === 0 && by === undefined
        ? undefined
        : () => {
            const t = Date.now();
            if ((by !== undefined && t > by) || !guards.every((g) => g(seg))) return false;
            if (at !== undefined && !reported) {
              reported = true;
              this.reports.wrote(slot?.ticket, at);
            }
            return true;
          };
    carrier.submit(submitFieldsFor(seg, encoded), stillWanted).then(
      (o) => {
        if (!reported) this.reports.unusedSlot(slot?.ticket);
        if (o.kind === 'ok') {
          if (this.backoff.size > 0) this.backoff.clear(seg.to);
        }
        const wait = o.kind === 'retryable' && o.code === 'SMPP_QUEUE_FULL' ? this.backoff.hit(seg.to) : 0;
        this.results.push({
          carrierId: carrier.id,
          result: o.kind === 'ok' ? 'ok' : o.code,
          commandStatus: o.kind === 'ok' ? 0 : o.commandStatus,
        });
        this.done(seg, outcomeFor(seg, carrier.id, o, this.opts.retry, wait));
      },
      (err: unknown) => {
        // Carrier.submit never rejects; if it ever did, the segment must not be lost.
        this.log.error({ err: (err as Error).message }, 'submit rejected unexpectedly; segment retried');
        if (!reported) this.reports.unusedSlot(slot?.ticket);
        this.done(seg, this.defer(seg, Date.now() + 1_000, 'temporary_error'));
      },
    );
  }

  private done(_seg: ClaimedSegment, o: SegmentOutcome): void {
    const written = this.writer.add(o);
    if (o.status === 'sent' && o.idKey) {
      const k = `${o.carrierId}\u0000${o.idKey}`;
      const settled = written.then(
        () => undefined,
        () => undefined,
      );
      this.writing.set(k, settled);
      void settled.then(() => {
        if (this.writing.get(k) === settled) this.writing.delete(k);
      });
    }
    written
      .catch((err: unknown) =>
        this.log.error(
          { err: (err as Error).message },
          'outcome not written; the lease will return the segment',
        ),
      )
      .finally(() => this.release());
  }

  private release(): void {
    this.inFlight--;
    if (this.roomWaiter && this.opts.maxInFlight - this.inFlight >= this.opts.claimBatch / 4) {
      const w = this.roomWaiter;
      this.roomWaiter = undefined;
      w();
    }
  }

  /**
   * Writes outcomes; while the database is unavailable it keeps trying (the in-flight cap stops
   * new claims meanwhile, and leases outlast an outage), until shutdown's deadline.
   */
  private async writeOutcomes(items: SegmentOutcome[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const rollup = await this.store.applyOutcomes(items);
        this.bus.publish('message.status', rollup.changes);
        break;
      } catch (err) {
        const kind = classifyDbError(err);
        if (kind !== 'unavailable' || Date.now() > this.stopDeadline) throw err;
        if (attempt % 10 === 0)
          this.log.warn(
            { err: (err as Error).message, attempt, items: items.length },
            'writing outcomes failed; retrying',
          );
        await sleep(backoffDelay({ initialMs: 100, maxMs: 5_000, multiplier: 2 }, attempt));
      }
    }
    if (this.results.length > 0) {
      const r = this.results;
      this.results = [];
      this.bus.publish('submit.result', r);
    }
  }
}
