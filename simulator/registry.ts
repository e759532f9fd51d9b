/**
 * The simulator as a campaign registry (TCR through an aggregator, in miniature): brands are
 * submitted, reviewed after a configurable delay, and approved (with an identity status and a
 * vetting score) or rejected with a reason. Imports nothing outside this folder and `node:`.
 */

export interface ReviewConfig {
  /** How long a review takes. */
  delayMs: number;
  outcome: 'approve' | 'reject';
  /** Why, when rejecting. */
  reason: string;
  identityStatus: 'UNVERIFIED' | 'SELF_DECLARED' | 'VERIFIED' | 'VETTED_VERIFIED';
  vettingScore: number;
}

export interface RegistryRecord {
  id: string;
  kind: 'brand' | 'campaign' | 'tollfree' | 'assignment';
  status: 'submitted' | 'approved' | 'rejected' | 'suspended';
  reason: string | null;
  identityStatus: ReviewConfig['identityStatus'] | null;
  vettingScore: number | null;
  submittedAt: number;
}

export const DEFAULT_REVIEW: ReviewConfig = {
  delayMs: 200,
  outcome: 'approve',
  reason: 'brand details could not be verified',
  identityStatus: 'VERIFIED',
  vettingScore: 75,
};

/** Submissions and their reviews; `now` is injectable for tests. */
export class Registry {
  private readonly records = new Map<string, RegistryRecord & { review: ReviewConfig }>();
  private next = 1;
  config: ReviewConfig = { ...DEFAULT_REVIEW };

  constructor(private readonly now: () => number = Date.now) {}

  /** Sets how the next submissions are reviewed; throws Error on a bad value. */
  configure(c: Partial<ReviewConfig>): ReviewConfig {
    const n = { ...this.config, ...c };
    if (!Number.isInteger(n.delayMs) || n.delayMs < 0 || n.delayMs > 86_400_000)
      throw new Error('delayMs must be 0..86400000');
    if (n.outcome !== 'approve' && n.outcome !== 'reject')
      throw new Error('outcome must be approve or reject');
    if (typeof n.reason !== 'string' || n.reason.length === 0 || n.reason.length > 500)
      throw new Error('reason must be 1..500 characters');
    if (!['UNVERIFIED', 'SELF_DECLARED', 'VERIFIED', 'VETTED_VERIFIED'].includes(n.identityStatus))
      throw new Error('identityStatus must be UNVERIFIED, SELF_DECLARED, VERIFIED or VETTED_VERIFIED');
    if (!Number.isInteger(n.vettingScore) || n.vettingScore < 0 || n.vettingScore > 100)
      throw new Error('vettingScore must be 0..100');
    this.config = n;
    return n;
  }

  private readonly suspended = new Set<string>();

  /** A brand submitted for review (its details were validated by the submitter). */
  submitBrand(): RegistryRecord {
    return this.submit('brand');
  }

  /** A campaign submitted for review. */
  submitCampaign(): RegistryRecord {
    return this.submit('campaign');
  }

  /** A toll-free number's verification request. */
  submitTollFree(): RegistryRecord {
    return this.submit('tollfree');
  }

  /** A number's assignment to a campaign (number provisioning at the carriers) for review. */
  submitAssignment(): RegistryRecord {
    return this.submit('assignment');
  }

  /** A carrier suspends an approved campaign; false when it is not one. */
  suspend(id: string): boolean {
    const r = this.get(id);
    if (r?.kind !== 'campaign' || r.status !== 'approved') return false;
    this.suspended.add(id);
    return true;
  }

  private submit(kind: RegistryRecord['kind']): RegistryRecord {
    const id = `${{ brand: 'B', campaign: 'C', tollfree: 'V', assignment: 'N' }[kind]}${String(this.next++).padStart(6, '0')}`;
    const r = {
      id,
      kind,
      status: 'submitted' as const,
      reason: null,
      identityStatus: null,
      vettingScore: null,
      submittedAt: this.now(),
      review: { ...this.config },
    };
    this.records.set(id, r);
    return this.view(r);
  }

  /** The record as it stands now (reviewed once its delay has passed); undefined when unknown. */
  get(id: string): RegistryRecord | undefined {
    const r = this.records.get(id);
    return r && this.view(r);
  }

  private view(r: RegistryRecord & { review: ReviewConfig }): RegistryRecord {
    const { review, ...rec } = r;
    if (this.now() - r.submittedAt < review.delayMs) return rec;
    if (this.suspended.has(r.id)) return { ...rec, status: 'suspended', reason: 'suspended by a carrier' };
    if (review.outcome === 'reject') return { ...rec, status: 'rejected', reason: review.reason };
    return {
      ...rec,
      status: 'approved',
      identityStatus: review.identityStatus,
      vettingScore: review.vettingScore,
    };
  }
}
