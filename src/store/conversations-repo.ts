import {
  type ConversationFilter,
  type ConversationView,
  PREVIEW_LENGTH,
  type ThreadMessage,
} from '../conversations/model.ts';
import type { Db } from './db.ts';
import { updateConversations } from './events-repo.ts';

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : String(d));

const COLUMNS = `v.id, v.last_message_at, v.last_direction, v.last_preview, v.last_number, v.unread_count,
  v.needs_review, c.id AS contact_id, c.e164, c.name, c.dnd`;

function toView(r: Record<string, unknown>): ConversationView {
  return {
    id: r.id as string,
    contact: {
      id: r.contact_id as string,
      number: r.e164 as string,
      name: (r.name as string | null) ?? null,
      optedOut: Boolean(r.dnd),
    },
    lastMessageAt: iso(r.last_message_at),
    lastDirection: r.last_direction as 'inbound' | 'outbound',
    lastPreview: r.last_preview as string,
    lastNumber: (r.last_number as string | null) ?? null,
    unreadCount: Number(r.unread_count),
    needsReview: Boolean(r.needs_review),
  };
}

/** Conversations in PostgreSQL (kept up to date by the inbound insert and by sends in a thread). */
export class ConversationsRepo {
  constructor(private readonly db: Db) {}

  async list(accountId: string, f: ConversationFilter): Promise<ConversationView[]> {
    const where = ['v.account_id = $1'];
    const params: unknown[] = [accountId];
    if (f.unread) where.push('v.unread_count > 0');
    if (f.number !== undefined) {
      params.push(f.number);
      where.push(`v.last_number = $${params.length}`);
    }
    if (f.before) {
      params.push(f.before.at, f.before.id);
      where.push(`(v.last_message_at, v.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(f.limit);
    const r = await this.db.query(
      `SELECT ${COLUMNS} FROM conversations v JOIN contacts c ON c.id = v.contact_id
       WHERE ${where.join(' AND ')} ORDER BY v.last_message_at DESC, v.id DESC LIMIT $${params.length}`,
      params,
    );
    return r.rows.map(toView);
  }

  /** Unread messages over all the account's threads. */
  async unreadTotal(accountId: string): Promise<number> {
    const r = await this.db.query<{ n: string | null }>(
      'SELECT sum(unread_count) AS n FROM conversations WHERE account_id = $1 AND unread_count > 0',
      [accountId],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  async get(accountId: string, id: string): Promise<ConversationView | undefined> {
    const r = await this.db.query(
      `SELECT ${COLUMNS} FROM conversations v JOIN contacts c ON c.id = v.contact_id WHERE v.id = $1 AND v.account_id = $2`,
      [id, accountId],
    );
    return r.rows[0] ? toView(r.rows[0]) : undefined;
  }

  /** Both directions of a thread, newest first, before the cursor. */
  async messages(
    accountId: string,
    contact: string,
    limit: number,
    before?: { at: string; id: string },
  ): Promise<ThreadMessage[]> {
    const params: unknown[] = [accountId, contact, limit];
    let cutOut = '';
    let cutIn = '';
    if (before) {
      params.push(before.at, before.id);
      cutOut = 'AND (created_at, id) < ($4::timestamptz, $5::uuid)';
      cutIn = 'AND (received_at, id) < ($4::timestamptz, $5::uuid)';
    }
    const r = await this.db.query(
      `SELECT * FROM (
         (SELECT id, 'outbound' AS direction, from_e164, to_e164, body, status, created_at AS t FROM messages
          WHERE account_id = $1 AND to_e164 = $2 ${cutOut}
          ORDER BY created_at DESC, id DESC LIMIT $3)
         UNION ALL
         (SELECT id, 'inbound', from_e164, to_e164, body, NULL, received_at FROM inbound_messages
          WHERE account_id = $1 AND from_e164 = $2 ${cutIn}
          ORDER BY received_at DESC, id DESC LIMIT $3)
       ) m ORDER BY t DESC, id DESC LIMIT $3`,
      params,
    );
    return r.rows.map((x) => ({
      id: x.id as string,
      direction: x.direction as 'inbound' | 'outbound',
      from: x.from_e164 as string,
      to: x.to_e164 as string,
      body: x.body as string,
      status: (x.status as string | null) ?? null,
      at: iso(x.t),
    }));
  }

  /** The thread was read: its unread count goes to 0. False when there is no such thread. */
  async markRead(accountId: string, id: string): Promise<boolean> {
    const n = await updateConversations(
      this.db,
      'UPDATE conversations v SET unread_count = 0 WHERE id = $1 AND account_id = $2 RETURNING v.*',
      [id, accountId],
    );
    return n > 0;
  }

  /** A message was sent in the thread: it moves to the top with this preview and number. */
  async touchOutbound(accountId: string, id: string, number: string, body: string): Promise<void> {
    await updateConversations(
      this.db,
      `UPDATE conversations v SET last_message_at = now(), last_direction = 'outbound', last_preview = $3, last_number = $4
       WHERE id = $1 AND account_id = $2 RETURNING v.*`,
      [id, accountId, body.slice(0, PREVIEW_LENGTH), number],
    );
  }
}
