/** An account's messaging-compliance settings and the defaults an account starts with. */
import { DEFAULT_KEYWORDS, type KeywordSets } from './keywords.ts';
import { DEFAULT_WINDOW, type SendWindow } from './quiet-hours.ts';

export interface QuietHoursSettings extends SendWindow {
  enabled: boolean;
  /** Inside quiet hours: wait for the window, or refuse (422 QUIET_HOURS). */
  mode: 'schedule' | 'reject';
  /** The account's zone: for recipients whose number says nothing about where they are. */
  timeZone: string;
  /** Also apply the recipient state's telephone-solicitation hours (STATE_RULES), the strictest winning. */
  stateRules: boolean;
}

export interface ComplianceSettings {
  /** Named in HELP answers and expected in a first message. */
  businessName: string;
  keywords: KeywordSets;
  /** Sent once when a contact opts out (CTIA: one confirmation, no marketing). */
  optOutReply: string;
  /** Sent once when a contact opts back in. */
  optInReply: string;
  /** The answer to HELP/INFO; `{business}` becomes the business name. */
  helpReply: string;
  /** Whether opt-out phrases ("stop texting me") opt out, as the FCC's revocation rule expects. */
  detectPhrases: boolean;
  quietHours: QuietHoursSettings;
  /** Appended (on a new line) to the first message the account sends to each contact. */
  footer: { enabled: boolean; text: string };
  /** At most `max` messages to one contact per `hours` (e.g. 3 per 24 h for marketing in FL, OK, MD). */
  frequencyCap: { enabled: boolean; max: number; hours: number };
  /** Shorten links to tracked short links when a request does not say (`trackLinks`). */
  trackLinks: boolean;
}

export const DEFAULT_COMPLIANCE: ComplianceSettings = Object.freeze({
  businessName: '',
  keywords: DEFAULT_KEYWORDS,
  optOutReply: 'You have been unsubscribed and will receive no more messages. Reply START to resubscribe.',
  optInReply: 'You have been resubscribed. Reply STOP to unsubscribe.',
  helpReply: '{business}: reply STOP to unsubscribe. Msg & data rates may apply.',
  detectPhrases: true,
  quietHours: Object.freeze({
    enabled: true,
    ...DEFAULT_WINDOW,
    mode: 'schedule',
    timeZone: 'America/New_York',
    stateRules: false,
  }),
  footer: Object.freeze({ enabled: true, text: 'Reply STOP to unsubscribe.' }),
  frequencyCap: Object.freeze({ enabled: false, max: 3, hours: 24 }),
  trackLinks: false,
});

/** Stored settings over the defaults (a stored document may predate a field). */
export function withDefaults(
  stored: Partial<ComplianceSettings> | undefined,
  defaults: ComplianceSettings = DEFAULT_COMPLIANCE,
): ComplianceSettings {
  if (!stored) return defaults;
  return {
    ...defaults,
    ...stored,
    keywords: { ...defaults.keywords, ...(stored.keywords ?? {}) },
    quietHours: { ...defaults.quietHours, ...(stored.quietHours ?? {}) },
    footer: { ...defaults.footer, ...(stored.footer ?? {}) },
    frequencyCap: { ...defaults.frequencyCap, ...(stored.frequencyCap ?? {}) },
  };
}

/** The body with the footer on its own line. */
export function withFooter(body: string, footer: string): string {
  return `${body}\n${footer}`;
}

/** The defaults with the operator's quiet-hours and footer defaults and account zone. */
export function configuredDefaults(o: {
  quietHours: boolean;
  footer: boolean;
  timeZone: string;
}): ComplianceSettings {
  return {
    ...DEFAULT_COMPLIANCE,
    quietHours: { ...DEFAULT_COMPLIANCE.quietHours, enabled: o.quietHours, timeZone: o.timeZone },
    footer: { ...DEFAULT_COMPLIANCE.footer, enabled: o.footer },
  };
}

/** What a number's approved 10DLC campaign registered for its keywords (src/numbers/campaigns.ts). */
export interface CampaignReplies {
  optOutKeywords?: readonly string[] | undefined;
  optInKeywords?: readonly string[] | undefined;
  helpKeywords?: readonly string[] | undefined;
  optOutReply?: string | undefined;
  optInReply?: string | undefined;
  helpReply?: string | undefined;
}

const union = (a: readonly string[], b: readonly string[] | undefined) =>
  b?.length ? [...new Set([...a, ...b.map((k) => k.trim()).filter(Boolean)])] : a;

/**
 * The settings an MO to a number is read with: the campaign's registered replies replace the
 * account's (carriers check that a number answers HELP and STOP as its campaign says), and its
 * keywords are honoured besides the account's (never instead: STOP and its kin always opt out).
 */
export function withCampaign(s: ComplianceSettings, c: CampaignReplies | undefined): ComplianceSettings {
  if (!c) return s;
  return {
    ...s,
    keywords: {
      optOut: union(s.keywords.optOut, c.optOutKeywords),
      optIn: union(s.keywords.optIn, c.optInKeywords),
      help: union(s.keywords.help, c.helpKeywords),
    },
    optOutReply: c.optOutReply?.trim() || s.optOutReply,
    optInReply: c.optInReply?.trim() || s.optInReply,
    helpReply: c.helpReply?.trim() || s.helpReply,
  };
}

/** The HELP answer with the business name filled in. */
export function helpText(s: ComplianceSettings): string {
  const name = s.businessName.trim() || 'This number';
  return s.helpReply.replaceAll('{business}', name);
}
