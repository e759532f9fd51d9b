import type { CarrierConfig } from '../config/carrier-config.ts';
import type { Logger } from '../logger.ts';
import { backoffDelay } from './backoff.ts';
import { type BindEvents, CarrierBind } from './carrier-bind.ts';
import type { CarrierHandlers, SubmitOutcome } from './carrier-types.ts';
import { classifyStatus, STATUS, statusName } from './command-status.ts';
import { type InboundPdu, interpretInbound } from './inbound.ts';
import { receiptIdCandidates, submitIdKey } from './message-id.ts';
import type { SubmitFields, SubmitResponse } from './session-types.ts';

export type { CarrierHandlers, SubmitOutcome };

interface Job {
  fields: SubmitFields;
  /** Asked right before each write: false withdraws the submit (WITHDRAWN, never written). */
  stillWanted: (() => boolean) | undefined;
  resolve: (o: SubmitOutcome) => void;
  enqueuedAt: number;
  attempts: number;
  throttles: number;
  written: boolean;
}

/**
 * A carrier: its binds, one FIFO of submits that any bound bind may take (work moves off a
 * dying bind instead of waiting for it), retries for throttling and temporary errors, and the
 * inbound side (receipts, MO reassembly across binds). Every submit resolves exactly once.
 */
export class Carrier {
  readonly binds: CarrierBind[] = [];
  private queue: Job[] = [];
  private head = 0;
  private rr = 0;
  private pumping = false;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private stopped = false;
  readonly counters = {
    submitted: 0,
    ok: 0,
    failed: 0,
    retryable: 0,
    throttled: 0,
    queueFull: 0,
    receipts: 0,
    mo: 0,
    invalidReceipts: 0,
  };

  constructor(
    readonly cfg: CarrierConfig,
    private readonly handlers: CarrierHandlers,
    private readonly log: Logger,
  ) {
    const events: BindEvents = {
      onReady: () => this.pump(),
      onSubmitResponse: (ms, st) => this.handlers.onSubmitResponse?.(ms, st),
      onInbound: (bind, pdu, respond) => this.onInbound(bind.id, pdu, respond),
      onRejected: (bind, pdu) => this.handlers.onRejectedPdu?.(bind.id, pdu),
      onStateChange: (bind, state, reason) => {
        this.handlers.onBindState?.(bind.id, state, reason);
        if (state === 'bound') this.pump();
      },
    };
    let n = 0;
    for (const spec of cfg.binds) {
      for (let i = 0; i < spec.count; i++) {
        const modes = spec.mode === 'txrx' ? (['tx', 'rx'] as const) : [spec.mode];
        for (const mode of modes)
          this.binds.push(new CarrierBind(`${cfg.id}#${n++}-${mode}`, mode, cfg, events, log));
      }
    }
  }

  get id(): string {
    return this.cfg.id;
  }

  /** How this carrier wants text encoded (messaging encodes for it; see encode-profile.ts). */
  get profile(): Pick<CarrierConfig, 'gsmDataCoding' | 'allowLatin1' | 'concatRef' | 'longMessageMode'> {
    const { gsmDataCoding, allowLatin1, concatRef, longMessageMode } = this.cfg;
    return { gsmDataCoding, allowLatin1, concatRef, longMessageMode };
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Number of binds that can carry submits right now. */
  get boundTransmitters(): number {
    // Asked once per routed segment: count without allocating.
    let n = 0;
    for (const b of this.binds) if (b.mode !== 'rx' && b.currentState === 'bound') n++;
    return n;
  }

  /** Transmitting binds that are bound and answer enquire_link in time. */
  get healthyTransmitters(): number {
    let n = 0;
    for (const b of this.binds) if (b.mode !== 'rx' && b.healthy) n++;
    return n;
  }

  /** Receiving binds (rx or trx) that are bound and healthy: receipts and MO can arrive. */
  get healthyReceivers(): number {
    let n = 0;
    for (const b of this.binds) if (b.mode !== 'tx' && b.healthy) n++;
    return n;
  }

  start(): void {
    for (const b of this.binds) b.start();
    this.sweeper = setInterval(() => this.sweep(), 100);
    this.sweeper.unref();
  }

  /**
   * Queues one submit_sm. Never rejects: resolves `ok`, `failed` (permanent, with the SMSC code)
   * or `retryable` (no bind in time, dropped link, timeout; `possiblySubmitted` tells whether a
   * resend may duplicate). `stillWanted` is asked before every write; when it says no, the submit
   * is never written and resolves `retryable` with code WITHDRAWN.
   */
  submit(fields: SubmitFields, stillWanted?: () => boolean): Promise<SubmitOutcome> {
    return new Promise((resolve) => {
      if (this.stopped) {
        resolve({
          kind: 'retryable',
          code: 'CARRIER_STOPPED',
          reason: 'carrier is stopping',
          attempts: 0,
          possiblySubmitted: false,
        });
        return;
      }
      this.queue.push({
        fields,
        stillWanted,
        resolve,
        enqueuedAt: Date.now(),
        attempts: 0,
        throttles: 0,
        written: false,
      });
      this.pump();
    });
  }

  /** Stops intake, lets windows drain (bounded), unbinds every bind, fails what is still queued as retryable. */
  async stop(drainMs = 5_000): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweeper);
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    await Promise.all(this.binds.map((b) => b.stop(drainMs)));
    for (const job of this.queue.slice(this.head))
      this.finish(job, this.retryable(job, 'CARRIER_STOPPED', 'carrier stopped'));
    this.queue = [];
    this.head = 0;
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const n = this.binds.length;
      let idle = 0;
      while (this.head < this.queue.length && idle < n) {
        const bind = this.binds[this.rr++ % n]!;
        if (bind.mode === 'rx' || !bind.canTake()) {
          idle++;
          continue;
        }
        idle = 0;
        const job = this.queue[this.head]!;
        this.queue[this.head++] = undefined as unknown as Job;
        this.send(bind, job);
      }
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    } finally {
      this.pumping = false;
    }
  }

  private send(bind: CarrierBind, job: Job): void {
    // A submit may wait here long (a slow carrier, throttling): whoever queued it gets the last word.
    if (job.stillWanted && !job.stillWanted()) {
      this.finish(job, this.retryable(job, 'WITHDRAWN', 'withdrawn before it was written', undefined, false));
      return;
    }
    if (job.attempts === 0) this.handlers.onQueueWait?.(Date.now() - job.enqueuedAt);
    job.attempts++;
    job.written = true;
    this.counters.submitted++;
    bind.send(job.fields, (r) => this.onResponse(bind, job, r));
  }

  private onResponse(bind: CarrierBind, job: Job, r: SubmitResponse): void {
    if (r.kind === 'timeout') {
      this.finish(job, this.retryable(job, 'SMPP_RESPONSE_TIMEOUT', 'no submit_sm_resp in time'));
      return;
    }
    if (r.kind === 'closed') {
      this.finish(job, this.retryable(job, 'SMPP_BIND_LOST', `bind lost before response: ${r.reason}`));
      return;
    }
    const status = r.status;
    const cls = r.kind === 'nack' && status === 0 ? 'temporary' : classifyStatus(status);
    const retry = this.cfg.retry;
    switch (cls) {
      case 'ok': {
        const messageId = (r as { messageId: string }).messageId;
        const idKey = submitIdKey(messageId, this.cfg.messageIdFormat.submit);
        if (!idKey) {
          // Accepted, but with no id a receipt could ever match: sent, to be timed out by the receipt timeout.
          this.log.warn({ carrier: this.cfg.id }, 'submit_sm_resp OK without message_id');
        }
        this.finish(job, {
          kind: 'ok',
          messageId,
          idKey: idKey ?? '',
          bindId: bind.id,
          attempts: job.attempts,
        });
        return;
      }
      case 'queue-full':
        // The destination's queue at the SMSC is full: that message waits (the caller backs off
        // per destination); the bind keeps its pace for everyone else.
        this.counters.queueFull++;
        this.finish(job, this.retryable(job, 'SMPP_QUEUE_FULL', statusName(status), status, false));
        return;
      case 'throttle':
        this.counters.throttled++;
        bind.throttled();
        this.handlers.onThrottled?.(job.fields);
        if (++job.throttles > retry.maxThrottleRetries) {
          this.finish(job, this.retryable(job, 'SMPP_THROTTLED', statusName(status), status, false));
        } else {
          this.requeueFront(job);
        }
        return;
      case 'rebind':
        bind.recycle(`SMSC answered ${statusName(status)}`);
        if (job.attempts > retry.maxTemporaryRetries) {
          this.finish(job, this.retryable(job, 'SMPP_BIND_STATE', statusName(status), status, false));
        } else {
          this.requeueFront(job);
        }
        return;
      case 'temporary':
        if (job.attempts > retry.maxTemporaryRetries) {
          this.finish(job, this.retryable(job, 'SMPP_TEMPORARY_ERROR', statusName(status), status, false));
          return;
        }
        this.retryLater(
          job,
          backoffDelay(
            { initialMs: retry.backoffInitialMs, maxMs: retry.backoffMaxMs, multiplier: 2 },
            job.attempts - 1,
          ),
        );
        return;
      default:
        this.finish(job, {
          kind: 'failed',
          code: 'SMPP_REJECTED',
          reason: statusName(status),
          commandStatus: status,
          attempts: job.attempts,
        });
    }
  }

  private retryable(
    job: Job,
    code: string,
    reason: string,
    commandStatus?: number,
    possiblySubmitted = job.written,
  ): SubmitOutcome {
    const o: SubmitOutcome = { kind: 'retryable', code, reason, attempts: job.attempts, possiblySubmitted };
    if (commandStatus !== undefined) o.commandStatus = commandStatus;
    return o;
  }

  private requeueFront(job: Job): void {
    job.written = false;
    if (this.head > 0) this.queue[--this.head] = job;
    else this.queue.unshift(job);
    this.pump();
  }

  private retryLater(job: Job, delayMs: number): void {
    job.written = false;
    const t = setTimeout(() => {
      this.retryTimers.delete(t);
      if (this.stopped) this.finish(job, this.retryable(job, 'CARRIER_STOPPED', 'carrier stopped'));
      else this.requeueFront(job);
    }, delayMs);
    this.retryTimers.add(t);
  }

  private finish(job: Job, o: SubmitOutcome): void {
    if (o.kind === 'ok') this.counters.ok++;
    else if (o.kind === 'failed') this.counters.failed++;
    else this.counters.retryable++;
    job.resolve(o);
  }

  private sweep(): void {
    const now = Date.now();
    const limit = now - this.cfg.queueTimeoutMs;
    while (this.head < this.queue.length && this.queue[this.head]!.enqueuedAt <= limit) {
      const job = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Job;
      this.finish(
        job,
        this.retryable(
          job,
          'NO_BIND_AVAILABLE',
          `no bind could take the submit within ${this.cfg.queueTimeoutMs} ms`,
        ),
      );
    }
    this.pump();
  }

  private onInbound(bindId: string, pdu: InboundPdu, respond: (status: number) => void): void {
    const ev = interpretInbound(pdu);
    if (ev.kind === 'invalid-receipt') {
      this.counters.invalidReceipts++;
      this.handlers.onInvalidReceipt?.(bindId);
      respond(0);
      return;
    }
    if (ev.kind === 'receipt') {
      this.counters.receipts++;
      const candidates = receiptIdCandidates(ev.receipt.messageId, this.cfg.messageIdFormat.receipt);
      this.settle(() => this.handlers.onReceipt(ev.receipt, candidates, bindId), respond);
      return;
    }
    // Every MO part is stored before it is answered; reassembly happens in the database.
    this.counters.mo++;
    this.settle(() => this.handlers.onMo(ev.part, bindId), respond);
  }

  /** Answers the SMSC once the handler has stored the event; a failure asks the SMSC to resend. */
  private settle(fn: () => Promise<void> | void, respond: (status: number) => void): void {
    let r: Promise<void> | void;
    try {
      r = fn();
    } catch (err) {
      this.log.error({ err }, 'inbound handler failed');
      respond(STATUS.ESME_RX_T_APPN);
      return;
    }
    if (r && typeof (r as Promise<void>).then === 'function') {
      (r as Promise<void>).then(
        () => respond(0),
        (err: unknown) => {
          // Failed writes are logged where they fail (rate-limited, see store/write-failure-log.ts);
          // the SMSC resends after our temporary error.
          this.log.debug({ err }, 'inbound handler failed');
          respond(STATUS.ESME_RX_T_APPN);
        },
      );
    } else {
      respond(0);
    }
  }
}
