/** What the compliance core needs from storage; the store implements it. */
import type { MessageDraft } from '../messaging/model.ts';
import type { ConsentSource } from './consent.ts';
import type { CampaignReplies, ComplianceSettings } from './settings.ts';

export interface InboundForConsent {
  id: string;
  accountId: string;
  from: string;
  to: string;
  body: string;
}

export interface ContactInfo {
  dnd: boolean;
  /** The contact's own zone, overriding what the number says. */
  timeZone: string | null;
}

export interface SegmentInfo {
  accountId: string;
  contact: ContactInfo | undefined;
  exempt: boolean;
}

export interface ConsentChange {
  accountId: string;
  contact: string;
  action: 'opt_out' | 'opt_in';
  source: ConsentSource;
  keyword?: string | undefined;
  rawText?: string | undefined;
  /** Our number the request came to. */
  number?: string | undefined;
  inboundMessageId?: string | undefined;
}

export interface ContactView {
  id: string;
  number: string;
  name: string | null;
  timeZone: string | null;
  /** The account's number this contact is pinned to (the sender rule's first choice). */
  assignedNumber: string | null;
  /** When the account's first message to the contact was sent (it carried the footer). */
  firstMessageAt: string | null;
  optedOut: boolean;
  optedOutSource: string | null;
  consentChangedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ConsentEventView {
  id: string;
  action: 'opt_out' | 'opt_in';
  source: ConsentSource;
  keyword: string | null;
  text: string | null;
  number: string | null;
  inboundMessageId: string | null;
  at: string;
}

export interface ComplianceStore {
  /** Settings of these accounts (defaults where none are stored). */
  settings(accountIds: readonly string[]): Promise<Map<string, ComplianceSettings>>;
  putSettings(accountId: string, s: ComplianceSettings): Promise<void>;
  /** Known contacts among these (account, number) pairs, by `${accountId} ${e164}`. */
  contactInfo(pairs: ReadonlyArray<{ accountId: string; to: string }>): Promise<Map<string, ContactInfo>>;
  /**
   * For claimed segments (by sending number and destination): per message id, the account, the
   * contact's state if known, and whether it is a compliance reply (exempt from opt-out and quiet hours).
   */
  segmentInfo(
    segs: ReadonlyArray<{ messageId: string; from: string; to: string }>,
  ): Promise<Map<string, SegmentInfo>>;
  /**
   * Claims the first message to each (account, contact) for these messages (at most one per pair
   * in the list): returns the message ids that are now their contact's first. A contact already
   * claimed stays claimed, unless its claiming message was never stored (after a minute).
   */
  claimFirstMessages(
    claims: ReadonlyArray<{ accountId: string; to: string; messageId: string }>,
  ): Promise<Set<string>>;
  /** Messages the account sent to each contact in the last `sinceMs`, keyed `${accountId} ${to}`. */
  recentCounts(
    pairs: ReadonlyArray<{ accountId: string; to: string; sinceMs: number }>,
  ): Promise<Map<string, number>>;
  /** Attributed inbound messages not yet handled, received more than `olderThanMs` ago. */
  unhandled(limit: number, olderThanMs: number): Promise<InboundForConsent[]>;
  inbound(ids: readonly string[]): Promise<InboundForConsent[]>;
  markHandled(ids: readonly string[], review: readonly string[]): Promise<void>;
  /**
   * Applies one change in one transaction: the contact (created if new) flips state only if it is
   * not already there; the audit row and `reply` (a compliance reply) are stored only then.
   * Returns whether the state changed.
   */
  applyConsent(
    change: ConsentChange,
    reply: MessageDraft | undefined,
  ): Promise<{ changed: boolean; contactId: string }>;
  /** Stores a HELP answer once per inbound message; false when it was already answered. */
  storeHelpReply(inboundMessageId: string, reply: MessageDraft): Promise<boolean>;
  /** The account's other numbers' e164 (gates cover every number of the account). */
  accountNumbers(accountId: string): Promise<string[]>;
  /** The registered keywords and replies of the approved campaigns of these numbers. */
  campaignReplies(numbers: readonly string[]): Promise<Map<string, CampaignReplies>>;
}
