/** 10DLC campaigns: use cases, what a campaign must say, checked across fields. Pure. */

export const USE_CASES = [
  '2FA',
  'ACCOUNT_NOTIFICATION',
  'CUSTOMER_CARE',
  'DELIVERY_NOTIFICATION',
  'FRAUD_ALERT',
  'HIGHER_EDUCATION',
  'LOW_VOLUME',
  'MARKETING',
  'MIXED',
  'POLLING_VOTING',
  'PUBLIC_SERVICE_ANNOUNCEMENT',
  'SECURITY_ALERT',
  'SOLE_PROPRIETOR',
  'CHARITY',
  'POLITICAL',
] as const;
export type UseCase = (typeof USE_CASES)[number];

export const CAMPAIGN_STATUSES = [
  'draft',
  'submitted',
  'approved',
  'rejected',
  'suspended',
  'expired',
] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/** A number's assignment to a campaign: it sends under the campaign only once `assigned`. */
export type AssignmentStatus = 'pending_assignment' | 'assigned' | 'failed_assignment';

export interface CampaignDetails {
  brandId: string;
  useCase: UseCase;
  description: string;
  sampleMessages: string[];
  /** How a contact opts in (the registry's "message flow / call to action"). */
  messageFlow: string;
  optInKeywords: string[];
  optOutKeywords: string[];
  helpKeywords: string[];
  optInReply: string;
  optOutReply: string;
  helpReply: string;
  embeddedLinks: boolean;
  embeddedPhone: boolean;
  ageGated: boolean;
}

const URL_IN_TEXT = /\bhttps?:\/\/|\bwww\.[a-z0-9-]+\.[a-z]/i;
const PHONE_IN_TEXT = /(\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}/;

/** What is wrong with a campaign across its fields, each naming its field; empty when nothing. */
export function campaignProblems(
  c: CampaignDetails,
  brandEntityType: string,
): Array<{ field: string; problem: string }> {
  const out: Array<{ field: string; problem: string }> = [];
  if (c.sampleMessages.length < 2) out.push({ field: 'sampleMessages', problem: 'at least two' });
  const upper = (xs: string[]) => xs.map((x) => x.trim().toUpperCase());
  if (!upper(c.optOutKeywords).includes('STOP'))
    out.push({ field: 'optOutKeywords', problem: 'must include STOP' });
  if (!upper(c.helpKeywords).includes('HELP'))
    out.push({ field: 'helpKeywords', problem: 'must include HELP' });
  if (!c.embeddedLinks && c.sampleMessages.some((m) => URL_IN_TEXT.test(m)))
    out.push({ field: 'embeddedLinks', problem: 'a sample message has a link: declare embeddedLinks' });
  if (!c.embeddedPhone && c.sampleMessages.some((m) => PHONE_IN_TEXT.test(m)))
    out.push({
      field: 'embeddedPhone',
      problem: 'a sample message has a phone number: declare embeddedPhone',
    });
  if (!/\bSTOP\b/i.test(c.optOutReply) && !/unsubscribed|opted out/i.test(c.optOutReply))
    out.push({ field: 'optOutReply', problem: 'must confirm the opt-out' });
  if ((c.useCase === 'SOLE_PROPRIETOR') !== (brandEntityType === 'SOLE_PROPRIETOR'))
    out.push({
      field: 'useCase',
      problem: 'SOLE_PROPRIETOR is the only use case of a sole-proprietor brand, and only theirs',
    });
  return out;
}
