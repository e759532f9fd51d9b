import { newId } from '../messaging/compose.ts';
import type { CampaignDetails, CampaignStatus } from '../numbers/campaigns.ts';
import type { Db } from './db.ts';

/** A campaign as the API shows it. */
export interface CampaignView extends CampaignDetails {
  id: string;
  status: CampaignStatus;
  registryId: string | null;
  rejectionReason: string | null;
  submittedAt: string | null;
  reviewedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

const iso = (d: unknown) => (d == null ? null : (d instanceof Date ? d : new Date(String(d))).toISOString());
const COLUMNS =
  'id, brand_id, details, status, registry_id, rejection_reason, submitted_at, reviewed_at, created_at, updated_at';

function toView(r: Record<string, unknown>): CampaignView {
  return {
    ...(r.details as Omit<CampaignDetails, 'brandId'>),
    brandId: r.brand_id as string,
    id: r.id as string,
    status: r.status as CampaignStatus,
    registryId: (r.registry_id as string | null) ?? null,
    rejectionReason: (r.rejection_reason as string | null) ?? null,
    submittedAt: iso(r.submitted_at),
    reviewedAt: iso(r.reviewed_at),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

const detailsOnly = ({ brandId: _b, ...d }: CampaignDetails) => JSON.stringify(d);

/** Campaigns per account (the review poller reads across accounts by status). */
export class CampaignsRepo {
  constructor(private readonly db: Db) {}

  async create(accountId: string, c: CampaignDetails): Promise<CampaignView> {
    const r = await this.db.query(
      `INSERT INTO campaigns (id, account_id, brand_id, details, status) VALUES ($1, $2, $3, $4, 'draft') RETURNING ${COLUMNS}`,
      [newId(), accountId, c.brandId, detailsOnly(c)],
    );
    return toView(r.rows[0]!);
  }

  async get(accountId: string, id: string): Promise<CampaignView | undefined> {
    const r = await this.db.query(`SELECT ${COLUMNS} FROM campaigns WHERE id = $1 AND account_id = $2`, [
      id,
      accountId,
    ]);
    return r.rows[0] ? toView(r.rows[0]) : undefined;
  }

  async list(accountId: string, limit: number): Promise<CampaignView[]> {
    const r = await this.db.query(
      `SELECT ${COLUMNS} FROM campaigns WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
      [accountId, limit],
    );
    return r.rows.map(toView);
  }

  /** Replaces a draft or rejected campaign's details (back to draft); false when it is neither. */
  async update(accountId: string, id: string, c: CampaignDetails): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE campaigns SET brand_id = $3, details = $4, status = 'draft', rejection_reason = NULL, updated_at = now()
       WHERE id = $1 AND account_id = $2 AND status IN ('draft', 'rejected')`,
      [id, accountId, c.brandId, detailsOnly(c)],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async markSubmitted(accountId: string, id: string, registryId: string): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE campaigns SET status = 'submitted', registry_id = $3, submitted_at = now(), updated_at = now()
       WHERE id = $1 AND account_id = $2 AND status = 'draft'`,
      [id, accountId, registryId],
    );
    return (r.rowCount ?? 0) > 0;
  }

  /** Campaigns the registry may still change: under review, or approved (a carrier may suspend). */
  async watched(limit: number): Promise<Array<{ id: string; registryId: string; status: CampaignStatus }>> {
    const r = await this.db.query<{ id: string; registry_id: string; status: CampaignStatus }>(
      `SELECT id, registry_id, status FROM campaigns WHERE status IN ('submitted', 'approved')
       ORDER BY submitted_at LIMIT $1`,
      [limit],
    );
    return r.rows.map((x) => ({ id: x.id, registryId: x.registry_id, status: x.status }));
  }

  /** Records the registry's word (only over the status it was read in). */
  async setStatus(
    id: string,
    from: CampaignStatus,
    to: CampaignStatus,
    reason: string | null,
  ): Promise<void> {
    await this.db.query(
      `UPDATE campaigns SET status = $3, rejection_reason = $4, reviewed_at = now(), updated_at = now()
       WHERE id = $1 AND status = $2`,
      [id, from, to, reason],
    );
  }

  /**
   * What the registry needs to review a number's assignment: the number and the registry's id of
   * the account's approved campaign. 'no_number' / 'not_approved' when either is not so.
   */
  async assignmentTarget(
    accountId: string,
    numberId: string,
    campaignId: string,
  ): Promise<{ e164: string; campaignRegistryId: string } | 'no_number' | 'not_approved'> {
    const r = await this.db.query<{ e164: string; registry_id: string | null }>(
      `SELECT n.e164, c.registry_id FROM numbers n
         LEFT JOIN campaigns c ON c.id = $3 AND c.account_id = $2 AND c.status = 'approved'
        WHERE n.id = $1 AND n.account_id = $2`,
      [numberId, accountId, campaignId],
    );
    const row = r.rows[0];
    if (!row) return 'no_number';
    return row.registry_id ? { e164: row.e164, campaignRegistryId: row.registry_id } : 'not_approved';
  }

  /**
   * Puts a number under an approved campaign of the account, pending the registry's review of
   * `registryId` (null campaign: unassigned at once). False when the number or campaign is not so.
   */
  async assignNumber(
    accountId: string,
    numberId: string,
    campaignId: string | null,
    registryId: string | null,
  ): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE numbers SET campaign_id = $3, assignment_registry_id = $4, campaign_status_reason = NULL,
              campaign_status = CASE WHEN $3::uuid IS NULL THEN NULL ELSE 'pending_assignment' END
       WHERE id = $1 AND account_id = $2
         AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM campaigns WHERE id = $3 AND account_id = $2 AND status = 'approved'))`,
      [numberId, accountId, campaignId, registryId],
    );
    return (r.rowCount ?? 0) > 0;
  }

  /** Number assignments the registry has not answered yet, across accounts. */
  async pendingAssignments(limit: number): Promise<Array<{ numberId: string; registryId: string }>> {
    const r = await this.db.query<{ id: string; assignment_registry_id: string }>(
      `SELECT id, assignment_registry_id FROM numbers
        WHERE campaign_status = 'pending_assignment' AND assignment_registry_id IS NOT NULL LIMIT $1`,
      [limit],
    );
    return r.rows.map((x) => ({ numberId: x.id, registryId: x.assignment_registry_id }));
  }

  /** Records the registry's answer, only for the request it answers (a newer one may have replaced it). */
  async settleAssignment(
    numberId: string,
    registryId: string,
    outcome: 'assigned' | 'failed_assignment',
    reason: string | null,
  ): Promise<void> {
    await this.db.query(
      `UPDATE numbers SET campaign_status = $3, campaign_status_reason = $4
        WHERE id = $1 AND assignment_registry_id = $2 AND campaign_status = 'pending_assignment'`,
      [numberId, registryId, outcome, reason],
    );
  }

  /**
   * The embedded demo's registration, as if done elsewhere: an approved brand and campaign for the
   * demo account, with its number assigned. Does nothing when the number has a campaign already.
   */
  async registerDemo(accountId: string, e164: string): Promise<void> {
    await this.db.tx(async (q) => {
      const n = await q.query<{ id: string; campaign_id: string | null }>(
        'SELECT id, campaign_id FROM numbers WHERE account_id = $1 AND e164 = $2 FOR UPDATE',
        [accountId, e164],
      );
      if (!n.rows[0] || n.rows[0].campaign_id) return;
      const brandId = newId();
      const campaignId = newId();
      await q.query(
        `INSERT INTO brands (id, account_id, details, status, registry_id, identity_status, vetting_score, throughput_class,
                             submitted_at, reviewed_at)
         VALUES ($1, $2, $3, 'approved', 'DEMO', 'VERIFIED', 75, 'E', now(), now())`,
        [
          brandId,
          accountId,
          JSON.stringify({
            entityType: 'PRIVATE_PROFIT',
            legalName: 'Parley Demo',
            ein: '00-0000000',
            address: { street: '1 Demo St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' },
            vertical: 'TECHNOLOGY',
            email: 'demo@example.com',
            phone: e164,
          }),
        ],
      );
      await q.query(
        `INSERT INTO campaigns (id, account_id, brand_id, details, status, registry_id, submitted_at, reviewed_at)
         VALUES ($1, $2, $3, $4, 'approved', 'DEMO', now(), now())`,
        [
          campaignId,
          accountId,
          brandId,
          JSON.stringify({
            useCase: 'MIXED',
            description: 'The embedded demo of Parley: messages to the bundled simulator only.',
            sampleMessages: ['Parley Demo: hello from the demo.', 'Parley Demo: reply STOP to opt out.'],
            messageFlow: 'Demo only: recipients are the bundled SMSC simulator, never a real handset.',
            optInKeywords: ['START'],
            optOutKeywords: ['STOP'],
            helpKeywords: ['HELP'],
            optInReply: 'Parley Demo: you are subscribed. Reply STOP to stop.',
            optOutReply: 'Parley Demo: you are unsubscribed.',
            helpReply: 'Parley Demo: this is the embedded demo.',
            embeddedLinks: false,
            embeddedPhone: false,
            ageGated: false,
          }),
        ],
      );
      await q.query(`UPDATE numbers SET campaign_id = $2, campaign_status = 'assigned' WHERE id = $1`, [
        n.rows[0].id,
        campaignId,
      ]);
    });
  }
}
