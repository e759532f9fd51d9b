import type { DueWebhook, WebhookStore } from '../messaging/webhooks.ts';
import type { Db } from './db.ts';

/** Persisted status-callback deliveries: claimed with a lease, so restarts and other instances keep them. */
export class WebhooksRepo implements WebhookStore {
  constructor(private readonly db: Db) {}

  async claimDue(limit: number, leaseMs: number): Promise<DueWebhook[]> {
    const r = await this.db.query<Record<string, unknown>>(
      `WITH c AS (
         SELECT id FROM webhook_deliveries
         WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
           AND (lease_until IS NULL OR lease_until < now())
         ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE webhook_deliveries w SET lease_until = now() + $2 * interval '1 millisecond', attempts = w.attempts + 1
       FROM c, accounts a WHERE w.id = c.id AND a.id = w.account_id
       RETURNING w.id::text AS id, w.message_id, w.url, w.seq, w.body, w.attempts, a.webhook_secret, w.created_at`,
      [limit, leaseMs],
      'parley_webhooks_claim',
    );
    return r.rows.map((x) => ({
      id: x.id as string,
      messageId: x.message_id as string,
      url: x.url as string,
      seq: Number(x.seq),
      body: x.body as string,
      attempts: Number(x.attempts),
      secret: x.webhook_secret as string,
      createdAt: x.created_at instanceof Date ? x.created_at : new Date(String(x.created_at)),
    }));
  }

  async delivered(id: string): Promise<void> {
    await this.db.query(
      'UPDATE webhook_deliveries SET delivered_at = now(), lease_until = NULL WHERE id = $1::bigint',
      [id],
      'parley_webhooks_delivered',
    );
  }

  /** `error` is a short text made by the transport: it never holds the URL. */
  async retryLater(id: string, delayMs: number, error: string): Promise<void> {
    await this.db.query(
      `UPDATE webhook_deliveries SET next_attempt_at = now() + $2 * interval '1 millisecond', lease_until = NULL, last_error = $3
       WHERE id = $1::bigint`,
      [id, delayMs, error.slice(0, 200)],
      'parley_webhooks_retry',
    );
  }

  async giveUp(id: string, error: string): Promise<void> {
    await this.db.query(
      'UPDATE webhook_deliveries SET failed_at = now(), lease_until = NULL, last_error = $2 WHERE id = $1::bigint',
      [id, error.slice(0, 200)],
    );
  }
}
