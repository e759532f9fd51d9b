import type { CarrierConfig } from '../config/carrier-config.ts';
import type { Logger } from '../logger.ts';
import { backoffDelay } from './backoff.ts';
import { type BindEvents, type BindState, CarrierBind } from './carrier-bind.ts';
import { classifyStatus, STATUS, statusName } from './command-status.ts';
import { interpretInbound, type MoMessage, MoReassembler } from './inbound.ts';
import type { Receipt } from './receipt.ts';
import type { SubmitFields, SubmitResponse } from './session-types.ts';

/** Final answer for one submit_sm. `possiblySubmitted`: the SMSC may have it (resend = possible duplicate). */
export type SubmitOutcome =
  | { kind: 'ok'; messageId: string; bindId: string; attempts: number }
  | {
      kind: 'retryable';
      code: string;
      reason: string;
      commandStatus?: number;
      attempts: number;
      possiblySubmitted: boolean;
    }
  | { kind: 'failed'; code: string; reason: string; commandStatus: number; attempts: number };

export interface CarrierHandlers {
  /** A delivery receipt; resolve once it is stored. A rejection answers the SMSC with a temporary error so it resends. */
  onReceipt(receipt: Receipt, bindId: string): Promise<void> | void;
  /** A whole (or timed-out, incomplete) MO message. */
  onMo(message: MoMessage, bindId: string): Promise<void> | void;
  onBindState?(bindId: string, state: BindState, reason?: string): void;
  /** submit_sm → submit_sm_resp time in ms. */
  onSubmitLatency?(ms: number): void;
}

interface Job {
  fields: SubmitFields;
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
  private readonly reassembler: MoReassembler;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private stopped = false;
  readonly counters = {
    submitted: 0,
    ok: 0,
    failed: 0,
    retryable: 0,
    throttled: 0,
    receipts: 0,
    mo: 0,
    invalidReceipts: 0,
  };

  constructor(
    readonly cfg: CarrierConfig,
    private readonly handlers: CarrierHandlers,
    private readonly log: Logger,
  ) {
    this.reassembler = new MoReassembler(cfg.moReassemblyTimeoutMs);
    const events: BindEvents = {
      onReady: () => this.pump(),
      onSubmitLatency: (ms) => this.handlers.onSubmitLatency?.(ms),
      onInbound: (bind, pdu, respond) => this.onInbound(bind.id, pdu, respond),
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

  start(): void {
    for (const b of this.binds) b.start();
    this.sweeper = setInterval(() => this.sweep(), 100);
    this.sweeper.unref();
  }

  /**
   * Queues one submit_sm. Never rejects: resolves `ok`, `failed` (permanent, with the SMSC code)
   * or `retryable` (no bind in time, dropped link, timeout; `possiblySubmitted` tells whether a
   * resend may duplicate).
   */
  submit(fields: SubmitFields): Promise<SubmitOutcome> {
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
      this.queue.push({ fields, resolve, enqueuedAt: Date.now(), attempts: 0, throttles: 0, written: false });
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
    for (const m of this.reassembler.expire(Number.POSITIVE_INFINITY)) void this.deliverMo(m, 'reassembly');
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
      case 'ok':
        this.finish(job, {
          kind: 'ok',
          messageId: (r as { messageId: string }).messageId,
          bindId: bind.id,
          attempts: job.attempts,
        });
        return;
      case 'throttle':
        this.counters.throttled++;
        bind.throttled();
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
    for (const m of this.reassembler.expire(now)) void this.deliverMo(m, 'reassembly');
    this.pump();
  }

  private onInbound(
    bindId: string,
    pdu: import('./inbound.ts').InboundPdu,
    respond: (status: number) => void,
  ): void {
    const ev = interpretInbound(pdu);
    if (ev.kind === 'invalid-receipt') {
      this.counters.invalidReceipts++;
      this.log.warn({ bind: bindId }, 'receipt without id or state ignored');
      respond(0);
      return;
    }
    if (ev.kind === 'receipt') {
      this.counters.receipts++;
      this.settle(() => this.handlers.onReceipt(ev.receipt, bindId), respond);
      return;
    }
    const whole = this.reassembler.add(ev.part, Date.now());
    if (!whole) {
      // Parts wait in memory for their siblings; the SMSC is answered now so it does not resend.
      respond(0);
      return;
    }
    this.settle(() => this.deliverMo(whole, bindId), respond);
  }

  private deliverMo(m: MoMessage, bindId: string): Promise<void> | void {
    this.counters.mo++;
    return this.handlers.onMo(m, bindId);
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
          this.log.error({ err }, 'inbound handler failed');
          respond(STATUS.ESME_RX_T_APPN);
        },
      );
    } else {
      respond(0);
    }
  }
}
