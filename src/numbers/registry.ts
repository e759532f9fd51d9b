import { AppError } from '../errors/app-error.ts';
import type { BrandDetails, IdentityStatus } from './brands.ts';
import { IDENTITY_STATUSES } from './brands.ts';
import type { CampaignDetails } from './campaigns.ts';
import { jsonCall } from './json-call.ts';
import type { TollFreeDetails } from './toll-free.ts';

/** A brand's review as the registry tells it. */
export interface BrandReview {
  status: 'submitted' | 'approved' | 'rejected';
  reason: string | null;
  identityStatus: IdentityStatus | null;
  vettingScore: number | null;
}

/**
 * Where brands (and later campaigns) are registered: TCR through an aggregator, or the bundled
 * simulator. Every method rejects with AppError REGISTRY_UNAVAILABLE when it cannot be asked.
 */
export interface Registry {
  submitBrand(details: BrandDetails): Promise<{ registryId: string }>;
  /** Undefined when the registry does not know the id. */
  brand(registryId: string): Promise<BrandReview | undefined>;
  submitCampaign(details: CampaignDetails): Promise<{ registryId: string }>;
  submitTollFree(details: TollFreeDetails): Promise<{ registryId: string }>;
  /** A toll-free verification's review (submitted = in review); undefined when unknown. */
  tollFree(registryId: string): Promise<CampaignReview | undefined>;
  /** Where a campaign stands (approved campaigns can be suspended later); undefined when unknown. */
  campaign(registryId: string): Promise<CampaignReview | undefined>;
  /** Asks for a number to be provisioned under a campaign (the carriers review it too). */
  submitAssignment(campaignRegistryId: string, e164: string): Promise<{ registryId: string }>;
  /** An assignment's review (approved: assigned; rejected: failed, with why); undefined when unknown. */
  assignment(registryId: string): Promise<CampaignReview | undefined>;
}

export interface CampaignReview {
  status: 'submitted' | 'approved' | 'rejected' | 'suspended';
  reason: string | null;
}

/**
 * A registry's reason as we store and show it: text, at most 500 characters, without control
 * characters (PostgreSQL refuses U+0000 in text: one such reason failed every poll after it).
 */
function reasonOf(x: unknown): string | null {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
  return typeof x === 'string' ? x.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 500) : null;
}

/** The bundled simulator's registry API over HTTP, each call bounded by `timeoutMs`. */
export class HttpRegistry implements Registry {
  constructor(
    private readonly base: string,
    private readonly timeoutMs = 5_000,
  ) {}

  private async call(method: 'GET' | 'POST', path: string, body?: unknown) {
    try {
      return await jsonCall(this.base, method, path, body, this.timeoutMs);
    } catch (err) {
      throw new AppError('REGISTRY_UNAVAILABLE', `the registry did not answer: ${(err as Error).message}`);
    }
  }

  async submitBrand(details: BrandDetails): Promise<{ registryId: string }> {
    const r = await this.call('POST', '/registry/brands', details);
    if (r.status !== 201 || typeof r.json.id !== 'string')
      throw new AppError('REGISTRY_UNAVAILABLE', `the registry answered ${r.status}`);
    return { registryId: r.json.id };
  }

  async brand(registryId: string): Promise<BrandReview | undefined> {
    const r = await this.call('GET', `/registry/brands/${encodeURIComponent(registryId)}`);
    if (r.status === 404) return undefined;
    const s = r.json.status;
    if (r.status !== 200 || (s !== 'submitted' && s !== 'approved' && s !== 'rejected'))
      throw new AppError('REGISTRY_UNAVAILABLE', `the registry answered ${r.status}`);
    const id = r.json.identityStatus;
    const score = r.json.vettingScore;
    return {
      status: s,
      reason: reasonOf(r.json.reason),
      identityStatus: IDENTITY_STATUSES.includes(id as IdentityStatus) ? (id as IdentityStatus) : null,
      vettingScore:
        typeof score === 'number' && Number.isInteger(score) && score >= 0 && score <= 100 ? score : null,
    };
  }

  async submitCampaign(details: CampaignDetails): Promise<{ registryId: string }> {
    const r = await this.call('POST', '/registry/campaigns', details);
    if (r.status !== 201 || typeof r.json.id !== 'string')
      throw new AppError('REGISTRY_UNAVAILABLE', `the registry answered ${r.status}`);
    return { registryId: r.json.id };
  }

  async campaign(registryId: string): Promise<CampaignReview | undefined> {
    const r = await this.call('GET', `/registry/campaigns/${encodeURIComponent(registryId)}`);
    if (r.status === 404) return undefined;
    const s = r.json.status;
    if (r.status !== 200 || (s !== 'submitted' && s !== 'approved' && s !== 'rejected' && s !== 'suspended'))
      throw new AppError('REGISTRY_UNAVAILABLE', `the registry answered ${r.status}`);
    return { status: s, reason: reasonOf(r.json.reason) };
  }

  async submitAssignment(campaignRegistryId: string, e164: string): Promise<{ registryId: string }> {
    const r = await this.call('POST', '/registry/assignments', {
      campaignId: campaignRegistryId,
      number: e164,
    });
    if (r.status !== 201 || typeof r.json.id !== 'string')
      throw new AppError('REGISTRY_UNAVAILABLE', `the registry answered ${r.status}`);
    return { registryId: r.json.id };
  }

  async assignment(registryId: string): Promise<CampaignReview | undefined> {
    return this.review('assignments', registryId);
  }

  async submitTollFree(details: TollFreeDetails): Promise<{ registryId: string }> {
    const r = await this.call('POST', '/registry/toll-free', details);
    if (r.status !== 201 || typeof r.json.id !== 'string')
      throw new AppError('REGISTRY_UNAVAILABLE', `the registry answered ${r.status}`);
    return { registryId: r.json.id };
  }

  async tollFree(registryId: string): Promise<CampaignReview | undefined> {
    return this.review('toll-free', registryId);
  }

  /** A toll-free verification's or a number assignment's review (no suspension for either). */
  private async review(kind: string, registryId: string): Promise<CampaignReview | undefined> {
    const r = await this.call('GET', `/registry/${kind}/${encodeURIComponent(registryId)}`);
    if (r.status === 404) return undefined;
    const s = r.json.status;
    if (r.status !== 200 || (s !== 'submitted' && s !== 'approved' && s !== 'rejected'))
      throw new AppError('REGISTRY_UNAVAILABLE', `the registry answered ${r.status}`);
    return { status: s, reason: reasonOf(r.json.reason) };
  }
}
