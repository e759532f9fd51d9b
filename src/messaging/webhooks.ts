import { createHmac } from 'node:crypto';
import type { Logger } from '../logger.ts';
import { backoffDelay } from '../smpp/backoff.ts';
import type { DueWebhook, WebhooksRepo } from '../store/webhooks-repo.ts';

/**
 * Signature of a status callback: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
 * account's webhook secret. Receivers recompute it and reject stale timestamps.
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
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

/** Delivers persisted status callbacks at least once, in the background, surviving restarts. */
export class WebhookSender {
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  readonly stats = { delivered: 0, failedAttempts: 0, abandoned: 0 };

  constructor(
    private readonly repo: WebhooksRepo,
    private readonly log: Logger,
    private readonly opts: WebhookOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.loop = this.run();
  }

  /** New deliveries were queued: look now rather than at the next poll. */
  poke(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let due: DueWebhook[] = [];
      try {
        due = await this.repo.claimDue(this.opts.batch, this.opts.timeoutMs * 2);
      } catch (err) {
        this.log.error({ err }, 'claiming webhooks failed');
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
    let error: string;
    try {
      const res = await fetch(w.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Parley-Webhooks/1',
          'x-parley-signature': signWebhook(w.secret, w.body, Math.floor(Date.now() / 1000)),
          'x-parley-message-id': w.messageId,
          'x-parley-sequence': String(w.seq),
        },
        body: w.body,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
        redirect: 'manual',
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) {
        await this.repo.delivered(w.id);
        this.stats.delivered++;
        return;
      }
      error = `HTTP ${res.status}`;
    } catch (err) {
      error = (err as Error).message;
    }
    this.stats.failedAttempts++;
    try {
      if (Date.now() - w.createdAt.getTime() > this.opts.maxAgeMs) {
        await this.repo.giveUp(w.id, error);
        this.stats.abandoned++;
        this.log.warn(
          { messageId: w.messageId, attempts: w.attempts, error },
          'status callback abandoned after max age',
        );
      } else {
        await this.repo.retryLater(w.id, backoffDelay(this.opts.backoff, w.attempts - 1), error);
      }
    } catch (err) {
      this.log.error({ err }, 'recording webhook attempt failed; the lease will retry it');
    }
  }
}
