import type { LiveEvent, LiveEventStore, LiveEventType, LiveLogHead } from '../conversations/live-events.ts';
import type { StatusChange } from '../messaging/model.ts';
import type { Db, Queryable } from './db.ts';

/**
 * CTEs that append the rows of a CTE named `ev` (account_id, o, at, k, type, data) to the live
 * event log, numbered per account in (o, at, k) order. The counter row of each account is taken
 * in account order and held until the statement's transaction commits, so an account's events
 * commit in the order of their numbers.
 */
export const LIVE_EVENTS_SQL = `live_n AS (
         SELECT account_id, count(*) AS n FROM ev GROUP BY account_id
       ), live_seq AS (
         INSERT INTO account_event_seq AS s (account_id, seq)
         SELECT account_id, n FROM live_n ORDER BY account_id
         ON CONFLICT (account_id) DO UPDATE SET seq = s.seq + excluded.seq
         RETURNING s.account_id, s.seq AS last
       ), live_ins AS (
         INSERT INTO account_events (account_id, seq, type, data)
         SELECT e.account_id, s.last - n.n + row_number() OVER (PARTITION BY e.account_id ORDER BY e.o, e.at, e.k),
                e.type, e.data
         FROM ev e JOIN live_seq s ON s.account_id = e.account_id JOIN live_n n ON n.account_id = e.account_id
       )`;

/**
 * The `conversation.updated` payload (the conversation API's shape) of conversation row `v` and
 * contact row `k`.
 */
export const conversationJson = (v: string, k: string): string =>
  `jsonb_build_object('id', ${v}.id, 'contact', jsonb_build_object('id', ${k}.id, 'number', ${k}.e164,
     'name', ${k}.name, 'optedOut', ${k}.dnd), 'lastMessageAt', ${v}.last_message_at,
     'lastDirection', ${v}.last_direction, 'lastPreview', ${v}.last_preview, 'lastNumber', ${v}.last_number,
     'unreadCount', ${v}.unread_count, 'needsReview', ${v}.needs_review)`;

/**
 * Runs an UPDATE of conversations (`update`, a CTE body with RETURNING v.*) and appends a
 * `conversation.updated` event per row it changed, in one statement; returns the rows changed.
 */
export async function updateConversations(
  q: Queryable,
  update: string,
  params: unknown[],
  /** CTEs the update reads (data-modifying CTEs must be at the top level). */
  before = '',
): Promise<number> {
  const r = await q.query(
    `WITH ${before ? `${before}, ` : ''}u AS (${update}), ev AS (
       SELECT u.account_id, 1 AS o, now() AS at, u.id::text AS k, 'conversation.updated' AS type,
              ${conversationJson('u', 'c')} AS data
       FROM u JOIN contacts c ON c.id = u.contact_id
     ), ${LIVE_EVENTS_SQL}
     SELECT 1 FROM u`,
    params,
  );
  return r.rowCount ?? 0;
}

/** An event to append (with `appendLiveEvents`). */
export interface NewLiveEvent {
  accountId: string;
  type: LiveEventType;
  data: Record<string, unknown>;
}

/** Appends events in one statement, in the caller's transaction when `q` is one. */
export async function appendLiveEvents(q: Queryable, events: readonly NewLiveEvent[]): Promise<void> {
  if (events.length === 0) return;
  await q.query(
    `WITH ev AS (
       SELECT e.account_id, e.o, now() AS at, '' AS k, e.type, e.data
       FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) WITH ORDINALITY AS e(account_id, type, data, o)
     ), ${LIVE_EVENTS_SQL}
     SELECT 1`,
    [events.map((e) => e.accountId), events.map((e) => e.type), events.map((e) => JSON.stringify(e.data))],
    'parley_live_append',
  );
}

/** The live inbox's event log in PostgreSQL. */
export class EventsRepo implements LiveEventStore {
  constructor(private readonly db: Db) {}

  async read(accountId: string, after: number, limit: number): Promise<LiveEvent[]> {
    const r = await this.db.query<{ seq: string; type: LiveEventType; data: Record<string, unknown> }>(
      `SELECT seq, type, data FROM account_events WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [accountId, after, limit],
      'parley_live_read',
    );
    return r.rows.map((x) => ({ seq: Number(x.seq), type: x.type, data: x.data }));
  }

  async head(accountId: string): Promise<LiveLogHead> {
    const r = await this.db.query<{ head: string | null; oldest: string | null }>(
      `SELECT (SELECT seq FROM account_event_seq WHERE account_id = $1) AS head,
              (SELECT seq FROM account_events WHERE account_id = $1 ORDER BY seq LIMIT 1) AS oldest`,
      [accountId],
    );
    const row = r.rows[0];
    return { head: Number(row?.head ?? 0), oldest: row?.oldest == null ? null : Number(row.oldest) };
  }

  /**
   * Appends `message.status` events for the changes of messages sent to a contact who has a
   * conversation (a bulk campaign's statuses stay out of the inbox); returns the accounts that
   * got events.
   */
  async appendStatusEvents(changes: readonly StatusChange[]): Promise<string[]> {
    if (changes.length === 0) return [];
    const r = await this.db.query<{ account_id: string }>(
      `WITH x AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY
           AS x(id, status, reason, error_code, o)
       ), ev AS (
         SELECT m.account_id, x.o, now() AS at, '' AS k, 'message.status' AS type,
                jsonb_build_object('id', x.id, 'conversationId', v.id, 'from', m.from_e164, 'to', m.to_e164,
                                   'status', x.status, 'reason', x.reason, 'errorCode', x.error_code) AS data
         FROM x
         CROSS JOIN LATERAL (SELECT account_id, from_e164, to_e164 FROM messages WHERE id = x.id OFFSET 0) m
         CROSS JOIN LATERAL (SELECT id FROM conversations
                              WHERE account_id = m.account_id AND contact_e164 = m.to_e164 OFFSET 0) v
       ), ${LIVE_EVENTS_SQL}
       SELECT DISTINCT account_id FROM ev`,
      [
        changes.map((c) => c.messageId),
        changes.map((c) => c.status),
        changes.map((c) => c.reason),
        changes.map((c) => c.errorCode),
      ],
      'parley_live_status',
    );
    return r.rows.map((x) => x.account_id);
  }

  async accountsWithThreads(): Promise<string[]> {
    const r = await this.db.query<{ id: string }>(
      'SELECT a.id FROM accounts a WHERE EXISTS (SELECT 1 FROM conversations v WHERE v.account_id = a.id)',
    );
    return r.rows.map((x) => x.id);
  }

  /** Deletes events older than `olderThanMs`, at most `limit`; returns how many. */
  async prune(olderThanMs: number, limit: number): Promise<number> {
    const r = await this.db.query(
      `DELETE FROM account_events WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM account_events WHERE created_at < now() - make_interval(secs => $1::double precision / 1000)
         ORDER BY created_at LIMIT $2))`,
      [olderThanMs, limit],
    );
    return r.rowCount ?? 0;
  }
}
