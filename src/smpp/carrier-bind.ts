import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { CarrierConfig } from '../config/carrier-config.ts';
import type { Logger } from '../logger.ts';
import { type AimdState, aimdDecrease, aimdIncrease, backoffDelay } from './backoff.ts';
import type { InboundPdu } from './inbound.ts';
import { SmppSession } from './session.ts';
import type {
  BindMode,
  RejectedPdu,
  SessionHandlers,
  SubmitFields,
  SubmitResponse,
} from './session-types.ts';

export type BindState = 'idle' | 'connecting' | 'bound' | 'backoff' | 'stopped';

export interface BindEvents {
  /** The bind can take more submits (bound, window room, pacing tokens). */
  onReady(bind: CarrierBind): void;
  onInbound(bind: CarrierBind, pdu: InboundPdu, respond: (status: number) => void): void;
  onStateChange(bind: CarrierBind, state: BindState, reason?: string): void;
  onSubmitResponse?(ms: number, commandStatus: number): void;
  onRejected?(bind: CarrierBind, pdu: RejectedPdu): void;
}

/**
 * One logical bind to a carrier: keeps an SmppSession alive (reconnect with capped exponential
 * backoff and jitter), paces submits when the SMSC throttles (AIMD on a token bucket), and
 * reports rebind-worthy sickness (consecutive timeouts, bind-state errors) by recycling the session.
 */
export class CarrierBind {
  private session: SmppSession | undefined;
  private state: BindState = 'idle';
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private paceTimer: NodeJS.Timeout | undefined;
  private aimdTimer: NodeJS.Timeout | undefined;
  private aimd: AimdState;
  private tokens = 0;
  private tokensAt = Date.now();
  private consecutiveTimeouts = 0;
  /** Accepted submits in ten 100 ms buckets: the rate the SMSC really took over the last second. */
  private readonly okBuckets = new Uint32Array(10);
  private okBucketAt = 0;
  private boundAt = 0;
  readonly counters = { binds: 0, bindFailures: 0, throttled: 0, timeouts: 0 };

  constructor(
    readonly id: string,
    readonly mode: BindMode,
    private readonly cfg: CarrierConfig,
    private readonly events: BindEvents,
    private readonly log: Logger,
  ) {
    const max = cfg.maxSubmitsPerSecond ?? Number.POSITIVE_INFINITY;
    this.aimd = { rate: max, lastDecreaseAt: 0 };
  }

  get currentState(): BindState {
    return this.state;
  }

  /** Submits per second the bind paces to now; Infinity when unpaced. */
  get rate(): number {
    return this.aimd.rate;
  }

  get inFlight(): number {
    return this.session?.inFlight ?? 0;
  }

  /** Bound and answering enquire_link in time (a silently dead link is bound but not healthy). */
  get healthy(): boolean {
    return this.state === 'bound' && (this.session?.healthy ?? false);
  }

  start(): void {
    if (this.state !== 'idle' && this.state !== 'stopped') return;
    this.state = 'idle';
    this.aimdTimer = setInterval(() => this.recover(), 100);
    this.aimdTimer.unref();
    this.connect();
  }

  /** True when a submit handed over now would be written at once. */
  canTake(): boolean {
    if (this.state !== 'bound' || !this.session?.canSubmit()) return false;
    if (!Number.isFinite(this.aimd.rate)) return true;
    this.refill();
    if (this.tokens >= 1) return true;
    this.schedulePace();
    return false;
  }

  /**
   * Writes one submit; call only after canTake(). The callback gets the raw session answer;
   * CarrierBind only watches it for throttling and timeouts.
   */
  send(fields: SubmitFields, cb: (r: SubmitResponse) => void): void {
    if (Number.isFinite(this.aimd.rate)) this.tokens -= 1;
    const session = this.session;
    if (!session) {
      cb({ kind: 'closed', reason: 'no session' });
      return;
    }
    session.submit(fields, (r) => {
      if (r.kind === 'timeout') {
        this.counters.timeouts++;
        if (++this.consecutiveTimeouts >= this.cfg.maxConsecutiveTimeouts && session === this.session) {
          session.close('too many response timeouts');
        }
      } else if (r.kind === 'resp' || r.kind === 'nack') {
        this.consecutiveTimeouts = 0;
        if (r.kind === 'resp' && r.status === 0) this.countOk();
      }
      cb(r);
    });
  }

  /** The SMSC answered throttled/queue-full: halve the pace (once per burst). */
  throttled(): void {
    this.counters.throttled++;
    const now = Date.now();
    this.rollBuckets(now);
    let accepted = 0;
    for (const n of this.okBuckets) accepted += n;
    // A bind younger than a second has not filled its buckets: extrapolate from its lifetime.
    const observed = (accepted * 1000) / Math.min(1000, Math.max(50, now - this.boundAt));
    const before = this.aimd.rate;
    this.aimd = aimdDecrease(this.aimd, this.policy(), observed, now);
    if (this.aimd.rate !== before) {
      // Pause for the hold time as well: the answers to what is already in flight will be throttled too.
      this.tokens = -(this.aimd.rate * this.cfg.throttle.holdMs) / 1000;
      this.tokensAt = now;
      this.log.warn({ bind: this.id, rate: Math.round(this.aimd.rate) }, 'smsc throttling: slowing bind');
    }
  }

  /** Tears the session down so it reconnects (bind-state error from the SMSC). */
  recycle(reason: string): void {
    this.session?.close(reason);
  }

  /** Stops reconnecting; waits (bounded) for outstanding submits, then unbinds. */
  async stop(drainMs = 5_000): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.paceTimer);
    clearInterval(this.aimdTimer);
    const s = this.session;
    if (!s) return;
    const until = Date.now() + drainMs;
    while (s.inFlight > 0 && !s.isClosed && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    await s.unbind();
  }

  private policy() {
    return { ...this.cfg.throttle, maxRate: this.cfg.maxSubmitsPerSecond ?? Number.POSITIVE_INFINITY };
  }

  private rollBuckets(now: number): void {
    const slot = Math.floor(now / 100);
    if (slot === this.okBucketAt) return;
    const steps = Math.min(10, slot - this.okBucketAt);
    for (let i = 1; i <= steps; i++) this.okBuckets[(this.okBucketAt + i) % 10] = 0;
    this.okBucketAt = slot;
  }

  private countOk(): void {
    this.rollBuckets(Date.now());
    this.okBuckets[this.okBucketAt % 10]!++;
  }

  private recover(): void {
    if (!Number.isFinite(this.aimd.rate) || Date.now() - this.aimd.lastDecreaseAt < 1000) return;
    this.aimd = aimdIncrease(this.aimd, this.policy(), 100);
  }

  private refill(): void {
    const now = Date.now();
    const burst = Math.max(1, this.aimd.rate / 20);
    this.tokens = Math.min(burst, this.tokens + ((now - this.tokensAt) * this.aimd.rate) / 1000);
    this.tokensAt = now;
  }

  private schedulePace(): void {
    if (this.paceTimer) return;
    const wait = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.aimd.rate));
    this.paceTimer = setTimeout(() => {
      this.paceTimer = undefined;
      this.events.onReady(this);
    }, wait);
  }

  private setState(state: BindState, reason?: string): void {
    this.state = state;
    this.events.onStateChange(this, state, reason);
  }

  private connect(): void {
    if (this.state === 'stopped') return;
    this.setState('connecting');
    const handlers: SessionHandlers = {
      onInbound: (pdu, respond) => this.events.onInbound(this, pdu, respond),
      onWritable: () => {
        if (this.state === 'bound') this.events.onReady(this);
      },
      onSubmitResponse: (ms, st) => this.events.onSubmitResponse?.(ms, st),
      onRejected: (pdu) => this.events.onRejected?.(this, pdu),
      onClose: (reason) => {
        if (this.session !== session) return;
        this.session = undefined;
        if (this.state === 'stopped') return;
        this.scheduleReconnect(reason);
      },
    };
    let tls: boolean | ConnectionOptions;
    try {
      tls = tlsOptions(this.cfg.tls);
    } catch (err) {
      this.counters.bindFailures++;
      this.log.error({ bind: this.id, err: (err as Error).message }, 'tls setup failed');
      this.scheduleReconnect(`tls setup failed: ${(err as Error).message}`);
      return;
    }
    const session = new SmppSession({ ...this.cfg, tls, bindMode: this.mode }, handlers, this.log);
    this.session = session;
    session.open().then(
      () => {
        if (this.session !== session || this.state === 'stopped') return;
        this.attempt = 0;
        this.consecutiveTimeouts = 0;
        this.counters.binds++;
        this.boundAt = Date.now();
        this.okBuckets.fill(0);
        this.log.info({ bind: this.id, mode: this.mode }, 'smpp bound');
        this.setState('bound');
        this.events.onReady(this);
      },
      (err: Error) => {
        this.counters.bindFailures++;
        this.log.warn({ bind: this.id, err: err.message }, 'smpp bind failed');
      },
    );
  }

  private scheduleReconnect(reason: string): void {
    const r = this.cfg.reconnect;
    const delay = backoffDelay(r, this.attempt++);
    this.setState('backoff', reason);
    this.log.info({ bind: this.id, reason, delayMs: delay }, 'smpp reconnect scheduled');
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }
}

/** Node TLS options from the carrier's `tls` setting; the CA file is read at each connect so a rotated CA is picked up. */
function tlsOptions(t: CarrierConfig['tls']): boolean | ConnectionOptions {
  if (typeof t === 'boolean') return t;
  const o: ConnectionOptions = { rejectUnauthorized: t.rejectUnauthorized };
  if (t.caFile) o.ca = readFileSync(t.caFile);
  if (t.servername) o.servername = t.servername;
  return o;
}
