import type { ConsentSource } from '../compliance/consent.ts';
import type { ConsentEventView, ContactView } from '../compliance/ports.ts';
import { newId } from '../messaging/compose.ts';
import type { Db } from './db.ts';

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : d === null ? null : String(d));

export function toContact(r: Record<string, unknown>): ContactView {
  return {
    id: r.id as string,
    number: r.e164 as string,
    name: (r.name as string | null) ?? null,
    timeZone: (r.time_zone as string | null) ?? null,
    assignedNumber: (r.assigned_number as string | null) ?? null,
    firstMessageAt: iso(r.first_message_at),
    optedOut: Boolean(r.dnd),
    optedOutSource: (r.dnd_source as string | null) ?? null,
    consentChangedAt: iso(r.dnd_changed_at),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

// The first message the account sent the contact: the footer claim, or an earlier send (the footer
// off, or the contact known from a reply first), one probe of the thread index.
export const CONTACT_COLUMNS = `id, e164, name, time_zone, assigned_number,
  LEAST(first_message_at, (SELECT m.created_at FROM messages m WHERE m.account_id = contacts.account_id
                           AND m.to_e164 = contacts.e164 ORDER BY m.created_at, m.id LIMIT 1)) AS first_message_at,
  dnd, dnd_source, dnd_changed_at, created_at, updated_at`;

/** Contacts, consent and compliance settings in PostgreSQL. Every batch statement probes keys. */
/** The contacts API (not part of the core's port): list, read, create, update, consent log. */
export class ContactsRepo {
  constructor(protected readonly db: Db) {}

  async listContacts(
    accountId: string,
    f: {
      number?: string | undefined;
      optedOut?: boolean | undefined;
      limit: number;
      before?: { at: string; id: string } | undefined;
    },
  ): Promise<ContactView[]> {
    const where = ['account_id = $1'];
    const params: unknown[] = [accountId];
    if (f.number !== undefined) {
      params.push(f.number);
      where.push(`e164 = $${params.length}`);
    }
    if (f.optedOut !== undefined) {
      params.push(f.optedOut);
      where.push(`dnd = $${params.length}`);
    }
    if (f.before) {
      params.push(f.before.at, f.before.id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(f.limit);
    const r = await this.db.query(
      `SELECT ${CONTACT_COLUMNS} FROM contacts WHERE ${where.join(' AND ')}
       ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return r.rows.map(toContact);
  }

  async getContact(accountId: string, id: string): Promise<ContactView | undefined> {
    const r = await this.db.query(
      `SELECT ${CONTACT_COLUMNS} FROM contacts WHERE id = $1 AND account_id = $2`,
      [id, accountId],
    );
    return r.rows[0] ? toContact(r.rows[0]) : undefined;
  }

  async createContact(
    accountId: string,
    c: { number: string; name?: string | undefined; timeZone?: string | undefined },
  ): Promise<{ contact: ContactView; created: boolean }> {
    const r = await this.db.query(
      `INSERT INTO contacts (id, account_id, e164, name, time_zone) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (account_id, e164) DO NOTHING RETURNING ${CONTACT_COLUMNS}`,
      [newId(), accountId, c.number, c.name ?? null, c.timeZone ?? null],
    );
    if (r.rows[0]) return { contact: toContact(r.rows[0]), created: true };
    const existing = await this.listContacts(accountId, { number: c.number, limit: 1 });
    return { contact: existing[0]!, created: false };
  }

  async updateContact(
    accountId: string,
    id: string,
    c: { name?: string | null | undefined; timeZone?: string | null | undefined },
  ): Promise<ContactView | undefined> {
    const r = await this.db.query(
      `UPDATE contacts SET name = CASE WHEN $3 THEN $4 ELSE name END,
                           time_zone = CASE WHEN $5 THEN $6 ELSE time_zone END, updated_at = now()
       WHERE id = $1 AND account_id = $2 RETURNING ${CONTACT_COLUMNS}`,
      [id, accountId, c.name !== undefined, c.name ?? null, c.timeZone !== undefined, c.timeZone ?? null],
    );
    return r.rows[0] ? toContact(r.rows[0]) : undefined;
  }

  async consentLog(accountId: string, contactId: string): Promise<ConsentEventView[]> {
    const r = await this.db.query(
      `SELECT id, action, source, keyword, raw_text, number, inbound_message_id, created_at FROM consent_events
       WHERE contact_id = $1 AND account_id = $2 ORDER BY id`,
      [contactId, accountId],
    );
    return r.rows.map((x) => ({
      id: String(x.id),
      action: x.action as 'opt_out' | 'opt_in',
      source: x.source as ConsentSource,
      keyword: (x.keyword as string | null) ?? null,
      text: (x.raw_text as string | null) ?? null,
      number: (x.number as string | null) ?? null,
      inboundMessageId: (x.inbound_message_id as string | null) ?? null,
      at: iso(x.created_at)!,
    }));
  }
}
