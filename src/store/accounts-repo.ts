import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '../errors/app-error.ts';
import type { NumberType } from '../numbers/phone.ts';
import { type Db, isUniqueViolation } from './db.ts';

export interface Account {
  id: string;
  name: string;
  webhookSecret: string;
}

export interface SendingNumber {
  id: string;
  accountId: string;
  e164: string;
  type: NumberType;
}

/** API keys are shown once and stored as SHA-256: a leaked table does not leak keys. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function newApiKey(): string {
  return `pk_${randomBytes(24).toString('base64url')}`;
}

/** Accounts, API keys and sending numbers. Every read is scoped by account id. */
export class AccountsRepo {
  constructor(private readonly db: Db) {}

  /** Creates an account and its first API key; returns the key in clear, the only time it exists. */
  async createAccount(name: string): Promise<{ account: Account; apiKey: string }> {
    const account: Account = { id: randomUUID(), name, webhookSecret: randomBytes(24).toString('base64url') };
    const apiKey = newApiKey();
    await this.db.tx(async (q) => {
      await q.query('INSERT INTO accounts (id, name, webhook_secret) VALUES ($1, $2, $3)', [
        account.id,
        name,
        account.webhookSecret,
      ]);
      await q.query('INSERT INTO api_keys (key_hash, account_id, prefix) VALUES ($1, $2, $3)', [
        hashApiKey(apiKey),
        account.id,
        apiKey.slice(0, 7),
      ]);
    });
    return { account, apiKey };
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
  async accountIdForKey(apiKey: string): Promise<string | undefined> {
    const r = await this.db.query<{ account_id: string }>(
      'SELECT account_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
      [hashApiKey(apiKey)],
    );
    return r.rows[0]?.account_id;
  }

  /** Adds a sending number. Fails NUMBER_TAKEN (409) when any account already has it. */
  async addNumber(accountId: string, e164: string, type: NumberType): Promise<SendingNumber> {
    const id = randomUUID();
    try {
      await this.db.query('INSERT INTO numbers (id, account_id, e164, type) VALUES ($1, $2, $3, $4)', [
        id,
        accountId,
        e164,
        type,
      ]);
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new AppError('NUMBER_TAKEN', `${e164} is already assigned`, {
          httpStatus: 409,
          action: 'fix-request',
        });
      }
      throw err;
    }
    return { id, accountId, e164, type };
  }

  async listNumbers(accountId: string): Promise<SendingNumber[]> {
    const r = await this.db.query<{ id: string; account_id: string; e164: string; type: NumberType }>(
      'SELECT id, account_id, e164, type FROM numbers WHERE account_id = $1 ORDER BY created_at, e164',
      [accountId],
    );
    return r.rows.map((n) => ({ id: n.id, accountId: n.account_id, e164: n.e164, type: n.type }));
  }
}
