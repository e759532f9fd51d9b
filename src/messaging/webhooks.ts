import { createHmac } from 'node:crypto';
import type { Logger } from '../logger.ts';
import { backoffDelay } from '../smpp/backoff.ts';
import type { EventBus } from './events.ts';
import type { WebhookTransport } from './webhook-transport.ts';

/**
 * Signature of a callback: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
 * account's webhook secret. Receivers recompute it and reject stale timestamps.
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

export interface DueWebhook {
  id: string;
  messageId: string;
  url: string;
  seq: number;
  body: string;
  attempts: number;
  secret: string;
  createdAt: Date;
}

/** Persisted callback deliveries; implemented by store/webhooks-repo.ts. */
export interface WebhookStore {
  /** Claims due deliveries with a lease (restarts and other instances keep them). */
  claimDue(limit: number, leaseMs: number): Promise<DueWebhook[]>;
  delivered(id: string): Promise<void>;
  retryLater(id: string, delayMs: number, error: string): Promise<void>;
  giveUp(id: string, error: string): Promise<void>;
}

export interface WebhookOptions {
  pollMs: number;
  batch: number;
  timeoutMs: number;
  /** Retries go on with exponential backoff until this long after the event. */
  maxAgeMs: number;
  backoff: { initialMs: number; maxMs: number; multiplier: number };
  concurrency: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Delivers persisted status callbacks at least once, in the background, surviving restarts. Every
 * attempt is published as a `webhook.attempt` event (metrics count them). A URL whose address is
 * refused (loopback, private, ...) is retried like any failure: DNS may change, the allowlist too.
 */
export class WebhookSender {
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  readonly stats = { delivered: 0, failedAttempts: 0, abandoned: 0 };

  constructor(
    private readonly store: WebhookStore,
    private readonly transport: WebhookTransport,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly opts: WebhookOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.unsubscribe = this.bus.subscribe('message.status', (changes, origin) => {
      if (origin === 'local' && changes.some((c) => c.callback)) this.poke();
    });
    this.loop = this.run();
  }

  /** New deliveries were queued: look now rather than at the next poll. */
  poke(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let due: DueWebhook[] = [];
      try {
        due = await this.store.claimDue(this.opts.batch, this.opts.timeoutMs * 2);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'claiming webhooks failed');
        await sleep(1_000);
      }
      for (let i = 0; i < due.length; i += this.opts.concurrency) {
        await Promise.all(due.slice(i, i + this.opts.concurrency).map((w) => this.deliver(w)));
      }
      if (due.length < this.opts.batch && !this.stopped) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, this.opts.pollMs);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
        this.wake = undefined;
      }
    }
  }

  private async deliver(w: DueWebhook): Promise<void> {
    const res = await this.transport.post(
      w.url,
      w.body,
      {
        'content-type': 'application/json',
        'user-agent': 'Parley-Webhooks/1',
        'x-parley-signature': signWebhook(w.secret, w.body, Math.floor(Date.now() / 1000)),
        'x-parley-message-id': w.messageId,
        'x-parley-sequence': String(w.seq),
      },
      this.opts.timeoutMs,
    );
    try {
      if (res.ok) {
        await this.store.delivered(w.id);
        this.stats.delivered++;
        this.bus.publish('webhook.attempt', [{ result: 'delivered' }]);
        return;
      }
      this.stats.failedAttempts++;
      if (Date.now() - w.createdAt.getTime() > this.opts.maxAgeMs) {
        await this.store.giveUp(w.id, res.error);
        this.stats.abandoned++;
        this.bus.publish('webhook.attempt', [{ result: 'abandoned' }]);
        this.log.warn(
          { messageId: w.messageId, attempts: w.attempts, error: res.error },
          'status callback abandoned after max age',
        );
      } else {
        await this.store.retryLater(w.id, backoffDelay(this.opts.backoff, w.attempts - 1), res.error);
        this.bus.publish('webhook.attempt', [{ result: res.blocked ? 'blocked' : 'failed' }]);
      }
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'recording webhook attempt failed; the lease will retry it',
      );
    }
  }
}
