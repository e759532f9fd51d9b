import type { TollFreeDetails, TollFreeStatus } from '../numbers/toll-free.ts';
import type { Db } from './db.ts';

export interface TollFreeView extends TollFreeDetails {
  numberId: string;
  status: TollFreeStatus;
  registryId: string | null;
  rejectionReason: string | null;
  submittedAt: string | null;
  reviewedAt: string | null;
}

const iso = (d: unknown) => (d == null ? null : (d instanceof Date ? d : new Date(String(d))).toISOString());

/** Toll-free verification requests, one per toll-free number of an account. */
export class TollFreeRepo {
  constructor(private readonly db: Db) {}

  async get(accountId: string, numberId: string): Promise<TollFreeView | undefined> {
    const r = await this.db.query(
      `SELECT number_id, details, status, registry_id, rejection_reason, submitted_at, reviewed_at
       FROM toll_free_verifications WHERE number_id = $1 AND account_id = $2`,
      [numberId, accountId],
    );
    const x = r.rows[0];
    if (!x) return undefined;
    return {
      ...(x.details as TollFreeDetails),
      numberId: x.number_id as string,
      status: x.status as TollFreeStatus,
      registryId: (x.registry_id as string | null) ?? null,
      rejectionReason: (x.rejection_reason as string | null) ?? null,
      submittedAt: iso(x.submitted_at),
      reviewedAt: iso(x.reviewed_at),
    };
  }

  /**
   * Records a request as pending (new, or replacing a rejected one). 'not_toll_free' when the
   * number is not a toll-free number of the account; 'locked' while one is in review or verified.
   */
  async request(
    accountId: string,
    numberId: string,
    d: TollFreeDetails,
  ): Promise<'ok' | 'not_toll_free' | 'locked'> {
    const r = await this.db.query<{ status: string }>(
      `INSERT INTO toll_free_verifications AS t (number_id, account_id, details, status)
       SELECT n.id, n.account_id, $3, 'pending' FROM numbers n WHERE n.id = $1 AND n.account_id = $2 AND n.type = 'toll_free'
       ON CONFLICT (number_id) DO UPDATE SET details = excluded.details, status = 'pending', registry_id = NULL,
         rejection_reason = NULL, submitted_at = NULL, reviewed_at = NULL, updated_at = now()
       WHERE t.status IN ('pending', 'rejected')
       RETURNING t.status`,
      [numberId, accountId, JSON.stringify(d)],
    );
    if (r.rowCount) return 'ok';
    const n = await this.db.query('SELECT 1 FROM numbers WHERE id = $1 AND account_id = $2 AND type = $3', [
      numberId,
      accountId,
      'toll_free',
    ]);
    return n.rowCount ? 'locked' : 'not_toll_free';
  }

  async markSubmitted(accountId: string, numberId: string, registryId: string): Promise<void> {
    await this.db.query(
      `UPDATE toll_free_verifications SET status = 'in_review', registry_id = $3, submitted_at = now(), updated_at = now()
       WHERE number_id = $1 AND account_id = $2 AND status = 'pending'`,
      [numberId, accountId, registryId],
    );
  }

  async inReview(limit: number): Promise<Array<{ numberId: string; registryId: string }>> {
    const r = await this.db.query<{ number_id: string; registry_id: string }>(
      `SELECT number_id, registry_id FROM toll_free_verifications WHERE status = 'in_review' ORDER BY submitted_at LIMIT $1`,
      [limit],
    );
    return r.rows.map((x) => ({ numberId: x.number_id, registryId: x.registry_id }));
  }

  async review(numberId: string, status: 'verified' | 'rejected', reason: string | null): Promise<void> {
    await this.db.query(
      `UPDATE toll_free_verifications SET status = $2, rejection_reason = $3, reviewed_at = now(), updated_at = now()
       WHERE number_id = $1 AND status = 'in_review'`,
      [numberId, status, reason],
    );
  }
}
