import type { LinkClick, LinkStore, LinkTarget, RecordedClick } from '../messaging/link-clicks.ts';
import type { Db, Queryable } from './db.ts';
import { classifyDbError } from './db-errors.ts';
import { appendLiveEvents } from './events-repo.ts';
import { addStatDeltas } from './number-stats-repo.ts';

/**
 * Clicks of one link past this many are counted (figures, metrics) but make no callback or live
 * event: a link hammered by a script (or forwarded to a crowd) must not flood the customer's
 * webhook and inbox.
 */
export const MAX_CLICK_EVENTS = 10;

/** Short links and their clicks in PostgreSQL. */
export class LinksRepo implements LinkStore {
  constructor(private readonly db: Db) {}

  async resolve(codes: readonly string[]): Promise<Map<string, LinkTarget>> {
    const r = await this.db.query<{ code: string; url: string }>(
      'SELECT code, url FROM links WHERE code = ANY($1::text[])',
      [codes],
      'parley_links_resolve',
    );
    return new Map(r.rows.map((x) => [x.code, { url: x.url }]));
  }

  /**
   * Records a batch of clicks in one transaction: per-link counters (bots only in `bot_hits`),
   * the human clicks, the per-number rollup deltas, and for each link's first MAX_CLICK_EVENTS
   * clicks a `message.clicked` callback (messages with a statusCallback) and a live-inbox event.
   * A deadlock with another writer is retried once.
   */
  async recordClicks(clicks: readonly LinkClick[]): Promise<RecordedClick[]> {
    try {
      return await this.db.tx((q) => LinksRepo.record(q, clicks));
    } catch (err) {
      if ((err as { code?: string }).code !== '40P01' || classifyDbError(err) === 'unavailable') throw err;
      return this.db.tx((q) => LinksRepo.record(q, clicks));
    }
  }

  private static async record(q: Queryable, clicks: readonly LinkClick[]): Promise<RecordedClick[]> {
    const codes = [...new Set(clicks.map((c) => c.code))].sort();
    // Rows locked in one order: two instances recording clicks on the same links never deadlock.
    await q.query('SELECT 1 FROM links WHERE code = ANY($1::text[]) ORDER BY code FOR UPDATE', [codes]);
    const human = clicks.filter((c) => c.agent !== 'bot');
    const r = await q.query<{
      code: string;
      message_id: string;
      account_id: string;
      from_e164: string;
      number_type: string | null;
      url: string;
      clicks: number;
      added: number;
    }>(
      `WITH c AS (
         SELECT code, count(*) FILTER (WHERE agent <> 'bot')::int AS human, count(*) FILTER (WHERE agent = 'bot')::int AS bots,
                min(at) FILTER (WHERE agent <> 'bot') AS first_at, max(at) FILTER (WHERE agent <> 'bot') AS last_at
         FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS x(code, agent, at) GROUP BY code
       )
       UPDATE links l SET clicks = l.clicks + c.human, bot_hits = l.bot_hits + c.bots,
              first_click_at = COALESCE(l.first_click_at, c.first_at),
              last_click_at = GREATEST(l.last_click_at, c.last_at)
       FROM c WHERE l.code = c.code
       RETURNING l.code, l.message_id, l.account_id, l.from_e164, l.url, l.clicks, c.human AS added,
                 (SELECT number_type FROM messages WHERE id = l.message_id) AS number_type`,
      [clicks.map((c) => c.code), clicks.map((c) => c.agent), clicks.map((c) => c.at.toISOString())],
      'parley_links_click',
    );
    const byCode = new Map(r.rows.map((x) => [x.code, x]));
    const out: RecordedClick[] = [];
    // Which click of its link each one is (1 = the first ever): only the first few make events.
    const nth = new Map<string, number>();
    const notify: RecordedClick[] = [];
    for (const c of human) {
      const l = byCode.get(c.code);
      if (!l) continue;
      const k = (nth.get(c.code) ?? l.clicks - l.added) + 1;
      nth.set(c.code, k);
      out.push({
        ...c,
        messageId: l.message_id,
        accountId: l.account_id,
        from: l.from_e164,
        numberType: l.number_type ?? 'unknown',
        url: l.url,
        // The link's first counted click ever (in a batch: the first recorded) makes it unique.
        unique: k === 1,
      });
      if (k <= MAX_CLICK_EVENTS) notify.push(out[out.length - 1]!);
    }
    if (out.length === 0) return out;
    await q.query(
      `INSERT INTO link_clicks (code, message_id, at, agent)
       SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::text[])`,
      [
        out.map((c) => c.code),
        out.map((c) => c.messageId),
        out.map((c) => c.at.toISOString()),
        out.map((c) => c.agent),
      ],
    );
    await addStatDeltas(
      q,
      out.flatMap((c) => [
        { accountId: c.accountId, from: c.from, at: c.at, metric: 'clicks', n: 1 },
        ...(c.unique
          ? [{ accountId: c.accountId, from: c.from, at: c.at, metric: 'unique_clicks', n: 1 }]
          : []),
      ]),
    );
    if (notify.length === 0) return out;
    await LinksRepo.callbacks(q, notify);
    await appendLiveEvents(
      q,
      notify.map((c) => ({
        accountId: c.accountId,
        type: 'message.clicked' as const,
        data: { id: c.messageId, from: c.from, url: c.url, agent: c.agent, clickedAt: c.at.toISOString() },
      })),
    );
    return out;
  }

  /** A `message.clicked` status-callback event, in the message's callback sequence. */
  private static async callbacks(q: Queryable, out: readonly RecordedClick[]): Promise<void> {
    await q.query(
      `WITH x AS (
         SELECT id, url, agent, at, row_number() OVER (PARTITION BY id ORDER BY o)::int AS r
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS x(id, url, agent, at, o)
       ), u AS (
         UPDATE messages m SET callback_seq = m.callback_seq + n.k
         FROM (SELECT id, count(*)::int AS k FROM x GROUP BY id) n
         WHERE m.id = n.id AND m.status_callback IS NOT NULL
         RETURNING m.id, m.account_id, m.status_callback, m.callback_seq - n.k AS base, m.status, m.from_e164, m.to_e164, m.metadata
       )
       INSERT INTO webhook_deliveries (message_id, account_id, url, seq, body)
       SELECT u.id, u.account_id, u.status_callback, u.base + x.r,
              json_build_object('event', 'message.clicked', 'id', u.id, 'status', u.status, 'from', u.from_e164,
                                'to', u.to_e164, 'url', x.url, 'agent', x.agent, 'clickedAt', x.at,
                                'sequence', u.base + x.r, 'metadata', u.metadata, 'timestamp', now())::text
       FROM u JOIN x ON x.id = u.id`,
      [
        out.map((c) => c.messageId),
        out.map((c) => c.url),
        out.map((c) => c.agent),
        out.map((c) => c.at.toISOString()),
      ],
      'parley_links_callbacks',
    );
  }
}
