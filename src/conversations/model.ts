/** Conversations: one thread per (account, contact) across every number of the account. */

export interface ConversationView {
  id: string;
  contact: { id: string; number: string; name: string | null; optedOut: boolean };
  lastMessageAt: string;
  lastDirection: 'inbound' | 'outbound';
  lastPreview: string;
  /** Our number the thread last used: the sender a reply goes from unless another is chosen. */
  lastNumber: string | null;
  unreadCount: number;
  needsReview: boolean;
}

export interface ThreadMessage {
  id: string;
  direction: 'inbound' | 'outbound';
  /** Ours for outbound, the contact's for inbound. */
  from: string;
  to: string;
  body: string;
  /** Outbound only: its delivery status. */
  status: string | null;
  at: string;
}

export interface ConversationFilter {
  unread?: boolean | undefined;
  /** Only threads whose last message used this number of ours. */
  number?: string | undefined;
  limit: number;
  before?: { at: string; id: string } | undefined;
}

/** Longest preview kept of a message. */
export const PREVIEW_LENGTH = 160;
