/**
 * 10DLC brands in the Campaign Registry's terms: vocabularies, cross-field rules, and the
 * throughput class an approved brand earns. Pure.
 */

export const ENTITY_TYPES = [
  'PRIVATE_PROFIT',
  'PUBLIC_PROFIT',
  'NON_PROFIT',
  'GOVERNMENT',
  'SOLE_PROPRIETOR',
] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/** The Campaign Registry's brand verticals. */
export const VERTICALS = [
  'AGRICULTURE',
  'COMMUNICATION',
  'CONSTRUCTION',
  'EDUCATION',
  'ENERGY',
  'ENTERTAINMENT',
  'FINANCIAL',
  'GAMBLING',
  'GOVERNMENT',
  'HEALTHCARE',
  'HOSPITALITY',
  'HUMAN_RESOURCES',
  'INSURANCE',
  'LEGAL',
  'MANUFACTURING',
  'NGO',
  'POLITICAL',
  'POSTAL',
  'PROFESSIONAL',
  'REAL_ESTATE',
  'RETAIL',
  'TECHNOLOGY',
  'TRANSPORTATION',
] as const;

export const STOCK_EXCHANGES = [
  'NASDAQ',
  'NYSE',
  'AMEX',
  'AMX',
  'ASX',
  'B3',
  'BME',
  'BSE',
  'FRA',
  'ICEX',
  'JPX',
  'JSE',
  'KRX',
  'LON',
  'NSE',
  'OMX',
  'SEHK',
  'SGX',
  'SSE',
  'STO',
  'SWX',
  'SZSE',
  'TSX',
  'TWSE',
  'VSE',
  'OTHER',
] as const;

export const BRAND_STATUSES = ['draft', 'submitted', 'approved', 'rejected'] as const;
export type BrandStatus = (typeof BRAND_STATUSES)[number];

export const IDENTITY_STATUSES = ['UNVERIFIED', 'SELF_DECLARED', 'VERIFIED', 'VETTED_VERIFIED'] as const;
export type IdentityStatus = (typeof IDENTITY_STATUSES)[number];

export interface BrandDetails {
  entityType: EntityType;
  legalName: string;
  /** US EIN, NN-NNNNNNN; none for sole proprietors. */
  ein?: string | undefined;
  address: { street: string; city: string; state: string; postalCode: string; country: string };
  vertical: (typeof VERTICALS)[number];
  website?: string | undefined;
  email: string;
  phone: string;
  stockSymbol?: string | undefined;
  stockExchange?: (typeof STOCK_EXCHANGES)[number] | undefined;
}

/** What is wrong with a brand across its fields, each naming its field; empty when nothing. */
export function brandProblems(b: BrandDetails): Array<{ field: string; problem: string }> {
  const out: Array<{ field: string; problem: string }> = [];
  if (b.entityType === 'SOLE_PROPRIETOR') {
    if (b.ein !== undefined) out.push({ field: 'ein', problem: 'a sole proprietor has no EIN' });
  } else if (b.ein === undefined) out.push({ field: 'ein', problem: `required for ${b.entityType}` });
  else if (!/^\d{2}-\d{7}$/.test(b.ein)) out.push({ field: 'ein', problem: 'must be NN-NNNNNNN' });
  if (b.entityType === 'PUBLIC_PROFIT') {
    if (!b.stockSymbol) out.push({ field: 'stockSymbol', problem: 'required for PUBLIC_PROFIT' });
    if (!b.stockExchange) out.push({ field: 'stockExchange', problem: 'required for PUBLIC_PROFIT' });
  } else {
    if (b.stockSymbol !== undefined) out.push({ field: 'stockSymbol', problem: 'only for PUBLIC_PROFIT' });
    if (b.stockExchange !== undefined)
      out.push({ field: 'stockExchange', problem: 'only for PUBLIC_PROFIT' });
  }
  if (b.address.country === 'US' && !/^\d{5}(-\d{4})?$/.test(b.address.postalCode))
    out.push({ field: 'address.postalCode', problem: 'a US ZIP code (NNNNN or NNNNN-NNNN)' });
  if (b.website !== undefined) {
    let ok = false;
    try {
      const u = new URL(b.website);
      ok = (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname.includes('.');
    } catch {
      ok = false;
    }
    if (!ok) out.push({ field: 'website', problem: 'an http(s) URL with a domain name' });
  }
  return out;
}

/**
 * The throughput class an approved brand earns (AT&T-style classes, by identity and vetting score,
 * which is how TCR vetting maps to carrier tiers): sole proprietors their own; VETTED_VERIFIED
 * 75–100 ⇒ A, 50–74 ⇒ C, below ⇒ E; VERIFIED without vetting ⇒ E; otherwise LOW_VOLUME.
 */
export function throughputClass(
  entity: EntityType,
  identity: IdentityStatus | null,
  score: number | null,
): string {
  if (entity === 'SOLE_PROPRIETOR') return 'SOLE_PROPRIETOR';
  if (identity === 'VETTED_VERIFIED' && score !== null) return score >= 75 ? 'A' : score >= 50 ? 'C' : 'E';
  if (identity === 'VERIFIED' || identity === 'VETTED_VERIFIED') return 'E';
  return 'LOW_VOLUME';
}
