import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '../errors/app-error.ts';
import type { NumberDirectory, SendingNumber } from '../messaging/ports.ts';
import type { NumberType } from '../messaging/vocabulary.ts';
import type { AssignmentStatus } from '../numbers/campaigns.ts';
import type { NumberRegistration } from '../numbers/registration-policy.ts';
import { type Db, isUniqueViolation } from './db.ts';

export type { SendingNumber };

export interface Account {
  id: string;
  name: string;
  webhookSecret: string;
}

/** Whether number row `n` may carry A2P traffic (see SendingNumber.registered). */
export const REGISTERED_SQL = `CASE n.type
  WHEN 'local' THEN n.campaign_status = 'assigned'
    AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = n.campaign_id AND c.status = 'approved')
  WHEN 'toll_free' THEN EXISTS (SELECT 1 FROM toll_free_verifications t WHERE t.number_id = n.id AND t.status = 'verified')
  ELSE true END`;

/** A number as the account's API shows it. */
export interface NumberView {
  id: string;
  number: string;
  type: NumberType;
  friendlyName: string | null;
  /** Replies to this number are POSTed here instead of the account's inbound URL. */
  inboundWebhookUrl: string | null;
  /** The account's default sender. */
  accountDefault: boolean;
  /** The team member the number belongs to (it is their default sender). */
  assignedUserId: string | null;
  /** The 10DLC campaign the number sends under, and its assignment status. */
  campaign: { id: string | null; status: AssignmentStatus | null; reason: string | null };
  /** Call handling: stored and validated for the platform (Parley carries no voice). */
  calls: { forwardTo: string | null; voicemail: boolean; recording: boolean };
  createdAt: string;
}

/** A change of a number's configuration; undefined fields stay, null clears. */
export interface NumberPatch {
  friendlyName?: string | null | undefined;
  inboundWebhookUrl?: string | null | undefined;
  assignedUserId?: string | null | undefined;
  calls?:
    | {
        forwardTo?: string | null | undefined;
        voicemail?: boolean | undefined;
        recording?: boolean | undefined;
      }
    | undefined;
}

export interface ApiKeyInfo {
  id: string;
  accountId: string;
  prefix: string;
  name: string | null;
  createdAt: string;
  revokedAt: string | null;
}

/** API keys are shown once and stored as SHA-256: a leaked table does not leak keys. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function newApiKey(): string {
  return `pk_${randomBytes(24).toString('base64url')}`;
}

const iso = (v: unknown) => (v == null ? null : (v instanceof Date ? v : new Date(String(v))).toISOString());

function toKeyInfo(r: Record<string, unknown>): ApiKeyInfo {
  return {
    id: r.id as string,
    accountId: r.account_id as string,
    prefix: r.prefix as string,
    name: (r.name as string | null) ?? null,
    createdAt: iso(r.created_at)!,
    revokedAt: iso(r.revoked_at),
  };
}

/** Accounts, API keys and sending numbers. Every read is scoped by account id. */
export class AccountsRepo implements NumberDirectory {
  constructor(private readonly db: Db) {}

  /** Creates an account and its first API key; returns the key in clear, the only time it exists. */
  async createAccount(name: string): Promise<{ account: Account; apiKey: string; keyId: string }> {
    const account: Account = { id: randomUUID(), name, webhookSecret: randomBytes(24).toString('base64url') };
    const apiKey = newApiKey();
    const keyId = randomUUID();
    await this.db.tx(async (q) => {
      await q.query('INSERT INTO accounts (id, name, webhook_secret) VALUES ($1, $2, $3)', [
        account.id,
        name,
        account.webhookSecret,
      ]);
      await q.query(
        'INSERT INTO api_keys (id, key_hash, account_id, prefix, name) VALUES ($1, $2, $3, $4, $5)',
        [keyId, hashApiKey(apiKey), account.id, apiKey.slice(0, 7), 'first key'],
      );
    });
    return { account, apiKey, keyId };
  }

  /** A further API key for an account; the key in clear is returned only now. */
  async createApiKey(accountId: string, name: string | null): Promise<{ key: ApiKeyInfo; apiKey: string }> {
    const apiKey = newApiKey();
    const r = await this.db.query<Record<string, unknown>>(
      `INSERT INTO api_keys (id, key_hash, account_id, prefix, name) VALUES ($1, $2, $3, $4, $5)
       RETURNING id, account_id, prefix, name, created_at, revoked_at`,
      [randomUUID(), hashApiKey(apiKey), accountId, apiKey.slice(0, 7), name],
    );
    return { key: toKeyInfo(r.rows[0]!), apiKey };
  }

  async listApiKeys(accountId: string): Promise<ApiKeyInfo[]> {
    const r = await this.db.query<Record<string, unknown>>(
      `SELECT id, account_id, prefix, name, created_at, revoked_at FROM api_keys WHERE account_id = $1
       ORDER BY created_at, id`,
      [accountId],
    );
    return r.rows.map(toKeyInfo);
  }

  /**
   * Revokes a key (of `accountId` when given: an account revokes only its own). Returns the key's
   * hash for the caches of every instance, or undefined when there is no such key. Revoking twice
   * is not an error.
   */
  async revokeApiKey(keyId: string, accountId?: string): Promise<string | undefined> {
    const r = await this.db.query<{ key_hash: string }>(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
       WHERE id = $1 AND ($2::uuid IS NULL OR account_id = $2::uuid) RETURNING key_hash`,
      [keyId, accountId ?? null],
    );
    return r.rows[0]?.key_hash;
  }

  async getAccount(id: string): Promise<Account | undefined> {
    const r = await this.db.query<{ id: string; name: string; webhook_secret: string }>(
      'SELECT id, name, webhook_secret FROM accounts WHERE id = $1',
      [id],
    );
    const a = r.rows[0];
    return a && { id: a.id, name: a.name, webhookSecret: a.webhook_secret };
  }

  async countAccounts(): Promise<number> {
    const r = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM accounts');
    return r.rows[0]?.n ?? 0;
  }

  /** The account an API key belongs to, or undefined for an unknown or revoked key. */
  async accountIdForKeyHash(keyHash: string): Promise<string | undefined> {
    const r = await this.db.query<{ account_id: string }>(
      'SELECT account_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
      [keyHash],
      'parley_auth_key',
    );
    return r.rows[0]?.account_id;
  }

  /** Adds a sending number. Fails NUMBER_TAKEN (409) when any account already has it. */
  async addNumber(accountId: string, e164: string, type: NumberType): Promise<SendingNumber> {
    const id = randomUUID();
    try {
      // The account's first number becomes its default sender (the last step of the sender rule).
      await this.db.query(
        `WITH n AS (INSERT INTO numbers (id, account_id, e164, type) VALUES ($1, $2, $3, $4) RETURNING e164)
         UPDATE accounts SET default_number = (SELECT e164 FROM n) WHERE id = $2 AND default_number IS NULL`,
        [id, accountId, e164, type],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('NUMBER_TAKEN', `${e164} is already assigned`);
      throw err;
    }
    return { id, accountId, e164, type };
  }

  /**
   * The operator's own rate for a number (segments per second; null: the policy table's for its
   * type), found by any of `spellings`. Undefined when no such number.
   */
  async setNumberRate(spellings: readonly string[], perSecond: number | null): Promise<string | undefined> {
    const r = await this.db.query<{ e164: string }>(
      'UPDATE numbers SET max_segments_per_second = $2 WHERE e164 = ANY($1::text[]) RETURNING e164',
      [spellings, perSecond],
    );
    return r.rows[0]?.e164;
  }

  async listNumbers(accountId: string): Promise<SendingNumber[]> {
    const r = await this.db.query<{
      id: string;
      account_id: string;
      e164: string;
      type: NumberType;
      registered: boolean;
      backlog_until: Date | null;
    }>(
      `SELECT n.id, n.account_id, n.e164, n.type, ${REGISTERED_SQL} AS registered, n.backlog_until
       FROM numbers n WHERE n.account_id = $1 ORDER BY n.created_at, n.e164`,
      [accountId],
    );
    return r.rows.map((n) => ({
      id: n.id,
      accountId: n.account_id,
      e164: n.e164,
      type: n.type,
      registered: Boolean(n.registered),
      ...(n.backlog_until ? { backlogUntil: new Date(n.backlog_until) } : {}),
    }));
  }

  /** The account's numbers with their settings, oldest first. */
  async numberDetails(accountId: string, id?: string): Promise<NumberView[]> {
    const r = await this.db.query(
      `SELECT n.id, n.e164, n.type, n.friendly_name, n.inbound_url, n.created_at, a.default_number = n.e164 AS is_default,
              n.assigned_user_id, n.call_forward_to, n.voicemail, n.call_recording, n.campaign_id, n.campaign_status,
              n.campaign_status_reason
       FROM numbers n JOIN accounts a ON a.id = n.account_id
       WHERE n.account_id = $1 AND ($2::uuid IS NULL OR n.id = $2) ORDER BY n.created_at, n.e164`,
      [accountId, id ?? null],
    );
    return r.rows.map((x) => ({
      id: x.id as string,
      number: x.e164 as string,
      type: x.type as NumberType,
      friendlyName: (x.friendly_name as string | null) ?? null,
      inboundWebhookUrl: (x.inbound_url as string | null) ?? null,
      accountDefault: Boolean(x.is_default),
      assignedUserId: (x.assigned_user_id as string | null) ?? null,
      campaign: {
        id: (x.campaign_id as string | null) ?? null,
        status: (x.campaign_status as AssignmentStatus | null) ?? null,
        reason: (x.campaign_status_reason as string | null) ?? null,
      },
      calls: {
        forwardTo: (x.call_forward_to as string | null) ?? null,
        voicemail: Boolean(x.voicemail),
        recording: Boolean(x.call_recording),
      },
      createdAt: iso(x.created_at)!,
    }));
  }

  /**
   * Removes a released number from the account: it stops being anyone's default or assignment
   * (the account's default passes to its oldest remaining number). Returns its E.164, undefined
   * when it is not the account's.
   */
  async removeNumber(accountId: string, id: string): Promise<string | undefined> {
    return this.db.tx(async (q) => {
      const r = await q.query<{ e164: string }>(
        'DELETE FROM numbers WHERE id = $1 AND account_id = $2 RETURNING e164',
        [id, accountId],
      );
      const e164 = r.rows[0]?.e164;
      if (e164 === undefined) return undefined;
      await q.query(
        `UPDATE accounts SET default_number = (SELECT e164 FROM numbers WHERE account_id = $1 ORDER BY created_at, e164 LIMIT 1)
         WHERE id = $1 AND default_number = $2`,
        [accountId, e164],
      );
      await q.query('UPDATE users SET default_number = NULL WHERE account_id = $1 AND default_number = $2', [
        accountId,
        e164,
      ]);
      await q.query(
        'UPDATE contacts SET assigned_number = NULL WHERE account_id = $1 AND assigned_number = $2',
        [accountId, e164],
      );
      return e164;
    });
  }

  /**
   * Undefined fields stay, null clears; false when the number is not the account's. A user given
   * as `assignedUserId` must be the account's (the caller checks) and gets this number as their
   * default sender, in the same transaction.
   */
  async updateNumber(accountId: string, id: string, u: NumberPatch): Promise<boolean> {
    return this.db.tx(async (q) => {
      const set = (v: unknown) => v !== undefined;
      const r = await q.query<{ e164: string }>(
        `UPDATE numbers SET friendly_name = CASE WHEN $3 THEN $4 ELSE friendly_name END,
                            inbound_url = CASE WHEN $5 THEN $6 ELSE inbound_url END,
                            assigned_user_id = CASE WHEN $7 THEN $8::uuid ELSE assigned_user_id END,
                            call_forward_to = CASE WHEN $9 THEN $10 ELSE call_forward_to END,
                            voicemail = COALESCE($11, voicemail),
                            call_recording = COALESCE($12, call_recording)
         WHERE id = $1 AND account_id = $2 RETURNING e164`,
        [
          id,
          accountId,
          set(u.friendlyName),
          u.friendlyName ?? null,
          set(u.inboundWebhookUrl),
          u.inboundWebhookUrl ?? null,
          set(u.assignedUserId),
          u.assignedUserId ?? null,
          set(u.calls?.forwardTo),
          u.calls?.forwardTo ?? null,
          u.calls?.voicemail ?? null,
          u.calls?.recording ?? null,
        ],
      );
      const e164 = r.rows[0]?.e164;
      if (e164 === undefined) return false;
      if (u.assignedUserId)
        await q.query(
          'UPDATE users SET default_number = $3, updated_at = now() WHERE id = $1 AND account_id = $2',
          [u.assignedUserId, accountId, e164],
        );
      return true;
    });
  }

  /** Registration of sending numbers (any account), for the dispatch gate. */
  async registrationOf(e164s: readonly string[]): Promise<Map<string, NumberRegistration>> {
    const r = await this.db.query<{ e164: string; type: NumberType; registered: boolean; pending: boolean }>(
      `SELECT n.e164, n.type, ${REGISTERED_SQL} AS registered,
              n.type = 'local' AND n.campaign_status = 'pending_assignment' AS pending
         FROM numbers n WHERE n.e164 = ANY($1::text[])`,
      [e164s],
      'parley_number_registration',
    );
    return new Map(
      r.rows.map((x) => [
        x.e164,
        { type: x.type, registered: Boolean(x.registered), pending: Boolean(x.pending) },
      ]),
    );
  }

  /** The URL inbound messages of the account are POSTed to (undefined: none). */
  async inboundWebhook(accountId: string): Promise<string | undefined> {
    const r = await this.db.query<{ inbound_url: string | null }>(
      'SELECT inbound_url FROM account_webhooks WHERE account_id = $1',
      [accountId],
    );
    return r.rows[0]?.inbound_url ?? undefined;
  }

  async setInboundWebhook(accountId: string, url: string | null): Promise<void> {
    await this.db.query(
      `INSERT INTO account_webhooks (account_id, inbound_url) VALUES ($1, $2)
       ON CONFLICT (account_id) DO UPDATE SET inbound_url = excluded.inbound_url, updated_at = now()`,
      [accountId, url],
    );
  }
}
