/** An account's messaging-compliance settings and the defaults an account starts with. */
import { DEFAULT_KEYWORDS, type KeywordSets } from './keywords.ts';

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
}

export const DEFAULT_COMPLIANCE: ComplianceSettings = Object.freeze({
  businessName: '',
  keywords: DEFAULT_KEYWORDS,
  optOutReply: 'You have been unsubscribed and will receive no more messages. Reply START to resubscribe.',
  optInReply: 'You have been resubscribed. Reply STOP to unsubscribe.',
  helpReply: '{business}: reply STOP to unsubscribe. Msg & data rates may apply.',
  detectPhrases: true,
});

/** Stored settings over the defaults (a stored document may predate a field). */
export function withDefaults(stored: Partial<ComplianceSettings> | undefined): ComplianceSettings {
  if (!stored) return DEFAULT_COMPLIANCE;
  return {
    ...DEFAULT_COMPLIANCE,
    ...stored,
    keywords: { ...DEFAULT_COMPLIANCE.keywords, ...(stored.keywords ?? {}) },
  };
}

/** The HELP answer with the business name filled in. */
export function helpText(s: ComplianceSettings): string {
  const name = s.businessName.trim() || 'This number';
  return s.helpReply.replaceAll('{business}', name);
}
