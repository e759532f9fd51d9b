/** Toll-free verification: what a request must say. Pure. */

export const OPT_IN_TYPES = ['VERBAL', 'WEB_FORM', 'PAPER_FORM', 'VIA_TEXT', 'MOBILE_QR_CODE'] as const;
/** The monthly volumes verification forms offer. */
export const MONTHLY_VOLUMES = [
  10, 100, 1_000, 10_000, 100_000, 250_000, 500_000, 750_000, 1_000_000, 5_000_000, 10_000_000,
] as const;
export const TOLL_FREE_STATUSES = ['pending', 'in_review', 'verified', 'rejected'] as const;
export type TollFreeStatus = (typeof TOLL_FREE_STATUSES)[number];

export interface TollFreeDetails {
  businessName: string;
  businessAddress: { street: string; city: string; state: string; postalCode: string; country: string };
  businessWebsite: string;
  contact: { name: string; email: string; phone: string };
  useCase: string;
  useCaseDescription: string;
  estimatedMonthlyVolume: (typeof MONTHLY_VOLUMES)[number];
  sampleMessages: string[];
  optInType: (typeof OPT_IN_TYPES)[number];
  /** Where the opt-in can be seen (a screenshot or the form itself). */
  optInEvidenceUrl: string;
}

const httpsUrl = (v: string) => {
  try {
    const u = new URL(v);
    return u.protocol === 'https:' && u.hostname.includes('.');
  } catch {
    return false;
  }
};

/** What is wrong across fields, each naming its field; empty when nothing. */
export function tollFreeProblems(d: TollFreeDetails): Array<{ field: string; problem: string }> {
  const out: Array<{ field: string; problem: string }> = [];
  if (!httpsUrl(d.optInEvidenceUrl))
    out.push({ field: 'optInEvidenceUrl', problem: 'an https URL with a domain name' });
  if (!httpsUrl(d.businessWebsite))
    out.push({ field: 'businessWebsite', problem: 'an https URL with a domain name' });
  if (d.businessAddress.country === 'US' && !/^\d{5}(-\d{4})?$/.test(d.businessAddress.postalCode))
    out.push({ field: 'businessAddress.postalCode', problem: 'a US ZIP code' });
  if (!d.sampleMessages.some((m) => m.toLowerCase().includes(d.businessName.toLowerCase().slice(0, 40))))
    out.push({ field: 'sampleMessages', problem: 'one sample at least names the business' });
  return out;
}
