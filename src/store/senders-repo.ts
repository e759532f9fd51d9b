import { AppError } from '../errors/app-error.ts';
import { newId } from '../messaging/compose.ts';
import type { SenderAnswer, SenderDirectory, SenderQuery } from '../messaging/sender.ts';
import { FIRST_MESSAGE_TAKEN } from './columns.ts';
import { type Db, isUniqueViolation } from './db.ts';

/** A team member as the API shows it. */
export interface UserView {
  id: string;
  name: string;
  email: string | null;
  defaultNumber: string | null;
  createdAt: string;
  updatedAt: string;
}

const iso = (d: unknown) => (d instanceof Date ? d : new Date(String(d))).toISOString();

function toUser(r: Record<string, unknown>): UserView {
  return {
    id: r.id as string,
    name: r.name as string,
    email: (r.email as string | null) ?? null,
    defaultNumber: (r.default_number as string | null) ?? null,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

const USER_COLUMNS = 'id, name, email, default_number, created_at, updated_at';

function emailTaken(err: unknown): never {
  if (isUniqueViolation(err)) throw new AppError('EMAIL_TAKEN');
  throw err;
}

/**
 * Team members, default numbers, contacts' assigned numbers, and the sender rule's hints. Every
 * statement is scoped by account id; numbers given here are checked by the caller to be the
 * account's.
 */
export class SendersRepo implements SenderDirectory {
  constructor(private readonly db: Db) {}

  async senderHints(queries: readonly SenderQuery[]): Promise<SenderAnswer[]> {
    if (queries.length === 0) return [];
    const cA: string[] = [];
    const cT: string[] = [];
    const uA: string[] = [];
    const uI: string[] = [];
    const accounts = new Set<string>();
    for (const q of queries) {
      accounts.add(q.accountId);
      if (q.to !== undefined) {
        cA.push(q.accountId);
        cT.push(q.to);
      }
      if (q.userId !== undefined) {
        uA.push(q.accountId);
        uI.push(q.userId);
      }
    }
    // One round trip for all: contacts by their unique key, users by id, the accounts' defaults —
    // each probed per key (LATERAL … OFFSET 0), so the plan never depends on statistics.
    const r = await this.db.query<{
      k: string;
      acc: string;
      key: string | null;
      a: string | null;
      b: string | null;
      dnd: boolean | null;
      tz: string | null;
      fs: boolean | null;
    }>(
      `SELECT 'c' AS k, x.acc::text AS acc, c.e164 AS key, c.assigned_number AS a,
              (SELECT v.contact_last_texted FROM conversations v
                WHERE v.account_id = x.acc AND v.contact_id = c.id OFFSET 0) AS b, c.dnd, c.time_zone AS tz,
              ${FIRST_MESSAGE_TAKEN} AS fs
         FROM unnest($1::uuid[], $2::text[]) AS x(acc, e164)
         CROSS JOIN LATERAL (SELECT id, e164, assigned_number, dnd, time_zone, first_message_id, first_message_at
                              FROM contacts WHERE account_id = x.acc AND e164 = x.e164 OFFSET 0) c
       UNION ALL
       SELECT 'u', y.acc::text, u.id::text, u.default_number, NULL, NULL, NULL, NULL
         FROM unnest($3::uuid[], $4::uuid[]) AS y(acc, id)
         CROSS JOIN LATERAL (SELECT id, default_number FROM users WHERE id = y.id AND account_id = y.acc OFFSET 0) u
       UNION ALL
       SELECT 'a', a.id::text, NULL, a.default_number, NULL, NULL, NULL, NULL FROM accounts a WHERE a.id = ANY($5::uuid[])`,
      [cA, cT, uA, uI, [...accounts]],
      'parley_sender_hints',
    );
    const contacts = new Map<
      string,
      {
        assigned: string | null;
        sticky: string | null;
        dnd: boolean;
        timeZone: string | null;
        firstSent: boolean;
      }
    >();
    const users = new Map<string, string | null>();
    const defaults = new Map<string, string | null>();
    for (const row of r.rows) {
      if (row.k === 'c')
        contacts.set(`${row.acc} ${row.key}`, {
          assigned: row.a,
          sticky: row.b,
          dnd: Boolean(row.dnd),
          timeZone: row.tz,
          firstSent: Boolean(row.fs),
        });
      else if (row.k === 'u') users.set(`${row.acc} ${row.key}`, row.a);
      else defaults.set(row.acc, row.a);
    }
    return queries.map((q) => {
      const c = q.to === undefined ? undefined : contacts.get(`${q.accountId} ${q.to}`);
      return {
        assigned: c?.assigned ?? null,
        sticky: c?.sticky ?? null,
        userDefault: q.userId === undefined ? null : users.get(`${q.accountId} ${q.userId}`),
        accountDefault: defaults.get(q.accountId) ?? null,
        contact:
          q.to === undefined
            ? undefined
            : c
              ? { dnd: c.dnd, timeZone: c.timeZone, firstSent: c.firstSent }
              : null,
      };
    });
  }

  async accountDefaults(accountIds: readonly string[]): Promise<Map<string, string | null>> {
    const r = await this.db.query<{ id: string; default_number: string | null }>(
      'SELECT id::text AS id, default_number FROM accounts WHERE id = ANY($1::uuid[])',
      [[...accountIds]],
    );
    return new Map(r.rows.map((x) => [x.id, x.default_number]));
  }

  async accountDefault(accountId: string): Promise<string | null> {
    return (await this.accountDefaults([accountId])).get(accountId) ?? null;
  }

  async setAccountDefault(accountId: string, e164: string | null): Promise<void> {
    await this.db.query('UPDATE accounts SET default_number = $2 WHERE id = $1', [accountId, e164]);
  }

  /** Sets or clears a contact's assigned number; false when the contact is not the account's. */
  async assignNumber(accountId: string, contactId: string, e164: string | null): Promise<boolean> {
    const r = await this.db.query(
      'UPDATE contacts SET assigned_number = $3, updated_at = now() WHERE id = $1 AND account_id = $2',
      [contactId, accountId, e164],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async listUsers(
    accountId: string,
    f: { limit: number; before?: { at: string; id: string } | undefined },
  ): Promise<UserView[]> {
    const params: unknown[] = [accountId, f.limit];
    let where = 'account_id = $1';
    if (f.before) {
      params.push(f.before.at, f.before.id);
      where += ' AND (created_at, id) < ($3::timestamptz, $4::uuid)';
    }
    const r = await this.db.query(
      `SELECT ${USER_COLUMNS} FROM users WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $2`,
      params,
    );
    return r.rows.map(toUser);
  }

  async getUser(accountId: string, id: string): Promise<UserView | undefined> {
    const r = await this.db.query(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1 AND account_id = $2`, [
      id,
      accountId,
    ]);
    return r.rows[0] ? toUser(r.rows[0]) : undefined;
  }

  /** Fails EMAIL_TAKEN (409) when another user of the account has the email. */
  async createUser(
    accountId: string,
    u: { name: string; email?: string | undefined; defaultNumber?: string | undefined },
  ): Promise<UserView> {
    const r = await this.db
      .query(
        `INSERT INTO users (id, account_id, name, email, default_number) VALUES ($1, $2, $3, $4, $5)
         RETURNING ${USER_COLUMNS}`,
        [newId(), accountId, u.name, u.email ?? null, u.defaultNumber ?? null],
      )
      .catch(emailTaken);
    return toUser(r.rows[0]!);
  }

  /** Undefined fields stay; null clears. Fails EMAIL_TAKEN (409). */
  async updateUser(
    accountId: string,
    id: string,
    u: {
      name?: string | undefined;
      email?: string | null | undefined;
      defaultNumber?: string | null | undefined;
    },
  ): Promise<UserView | undefined> {
    const r = await this.db
      .query(
        `UPDATE users SET name = COALESCE($3, name),
                          email = CASE WHEN $4 THEN $5 ELSE email END,
                          default_number = CASE WHEN $6 THEN $7 ELSE default_number END,
                          updated_at = now()
          WHERE id = $1 AND account_id = $2 RETURNING ${USER_COLUMNS}`,
        [
          id,
          accountId,
          u.name ?? null,
          u.email !== undefined,
          u.email ?? null,
          u.defaultNumber !== undefined,
          u.defaultNumber ?? null,
        ],
      )
      .catch(emailTaken);
    return r.rows[0] ? toUser(r.rows[0]) : undefined;
  }
}
