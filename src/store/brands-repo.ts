import { newId } from '../messaging/compose.ts';
import type { BrandDetails, BrandStatus } from '../numbers/brands.ts';
import type { Db } from './db.ts';

/** A brand as the API shows it. */
export interface BrandView extends BrandDetails {
  id: string;
  status: BrandStatus;
  registryId: string | null;
  rejectionReason: string | null;
  identityStatus: string | null;
  vettingScore: number | null;
  throughputClass: string | null;
  submittedAt: string | null;
  reviewedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

const iso = (d: unknown) => (d == null ? null : (d instanceof Date ? d : new Date(String(d))).toISOString());
const COLUMNS = `id, details, status, registry_id, rejection_reason, identity_status, vetting_score, throughput_class,
  submitted_at, reviewed_at, created_at, updated_at`;

function toView(r: Record<string, unknown>): BrandView {
  return {
    ...(r.details as BrandDetails),
    id: r.id as string,
    status: r.status as BrandStatus,
    registryId: (r.registry_id as string | null) ?? null,
    rejectionReason: (r.rejection_reason as string | null) ?? null,
    identityStatus: (r.identity_status as string | null) ?? null,
    vettingScore: r.vetting_score == null ? null : Number(r.vetting_score),
    throughputClass: (r.throughput_class as string | null) ?? null,
    submittedAt: iso(r.submitted_at),
    reviewedAt: iso(r.reviewed_at),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

/** Brands per account; every statement is scoped by account id (the review poller's by status). */
export class BrandsRepo {
  constructor(private readonly db: Db) {}

  async create(accountId: string, d: BrandDetails): Promise<BrandView> {
    const r = await this.db.query(
      `INSERT INTO brands (id, account_id, details, status) VALUES ($1, $2, $3, 'draft') RETURNING ${COLUMNS}`,
      [newId(), accountId, JSON.stringify(d)],
    );
    return toView(r.rows[0]!);
  }

  async get(accountId: string, id: string): Promise<BrandView | undefined> {
    const r = await this.db.query(`SELECT ${COLUMNS} FROM brands WHERE id = $1 AND account_id = $2`, [
      id,
      accountId,
    ]);
    return r.rows[0] ? toView(r.rows[0]) : undefined;
  }

  async list(accountId: string, limit: number): Promise<BrandView[]> {
    const r = await this.db.query(
      `SELECT ${COLUMNS} FROM brands WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
      [accountId, limit],
    );
    return r.rows.map(toView);
  }

  /** Replaces the details of a draft or rejected brand (back to draft); false when it is neither. */
  async update(accountId: string, id: string, d: BrandDetails): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE brands SET details = $3, status = 'draft', rejection_reason = NULL, updated_at = now()
       WHERE id = $1 AND account_id = $2 AND status IN ('draft', 'rejected')`,
      [id, accountId, JSON.stringify(d)],
    );
    return (r.rowCount ?? 0) > 0;
  }

  /** Marks a draft submitted under the registry's id; false when it was no longer a draft. */
  async markSubmitted(accountId: string, id: string, registryId: string): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE brands SET status = 'submitted', registry_id = $3, submitted_at = now(), updated_at = now()
       WHERE id = $1 AND account_id = $2 AND status = 'draft'`,
      [id, accountId, registryId],
    );
    return (r.rowCount ?? 0) > 0;
  }

  /** Brands waiting for their review, oldest first. */
  async submitted(
    limit: number,
  ): Promise<Array<{ id: string; registryId: string; entityType: BrandDetails['entityType'] }>> {
    const r = await this.db.query<{
      id: string;
      registry_id: string;
      entity_type: BrandDetails['entityType'];
    }>(
      `SELECT id, registry_id, details->>'entityType' AS entity_type FROM brands
       WHERE status = 'submitted' ORDER BY submitted_at LIMIT $1`,
      [limit],
    );
    return r.rows.map((x) => ({ id: x.id, registryId: x.registry_id, entityType: x.entity_type }));
  }

  /** Records a finished review (only over a brand still submitted). */
  async review(
    id: string,
    r: {
      status: 'approved' | 'rejected';
      reason: string | null;
      identityStatus: string | null;
      vettingScore: number | null;
      throughputClass: string | null;
    },
  ): Promise<void> {
    await this.db.query(
      `UPDATE brands SET status = $2, rejection_reason = $3, identity_status = $4, vetting_score = $5,
                         throughput_class = $6, reviewed_at = now(), updated_at = now()
       WHERE id = $1 AND status = 'submitted'`,
      [id, r.status, r.reason, r.identityStatus, r.vettingScore, r.throughputClass],
    );
  }
}
