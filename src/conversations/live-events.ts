/**
 * The live inbox's vocabulary and the store it reads. Every event of an account has a number
 * (1, 2, 3…) in the order its transaction committed, so "everything after n" is exact: a client
 * that resumes with Last-Event-ID n misses nothing and sees nothing twice.
 */

/** Event types of GET /v1/events, defined once (the schema's CHECK repeats them; a test keeps them equal). */
export const LIVE_EVENT_TYPES = [
  'message.inbound',
  'message.status',
  'conversation.updated',
  'contact.opted_out',
  'contact.opted_in',
  'message.clicked',
] as const;
export type LiveEventType = (typeof LIVE_EVENT_TYPES)[number];

export interface LiveEvent {
  /** The account's event number. */
  seq: number;
  type: LiveEventType;
  data: Record<string, unknown>;
}

/** Where an account's event log stands. */
export interface LiveLogHead {
  /** The last number given (0: none yet). */
  head: number;
  /** The oldest number still kept (null: none kept); older ones were pruned. */
  oldest: number | null;
}

/** The event log (PostgreSQL). Every method rejects with a database error. */
export interface LiveEventStore {
  /** Events of the account numbered above `after`, in order, at most `limit`. */
  read(accountId: string, after: number, limit: number): Promise<LiveEvent[]>;
  head(accountId: string): Promise<LiveLogHead>;
}

/**
 * Parses a Last-Event-ID header: the decimal event number this API gave. Undefined when absent;
 * null when malformed (the caller answers 400).
 */
export function parseLastEventId(v: string | string[] | undefined): number | undefined | null {
  if (v === undefined) return undefined;
  if (Array.isArray(v) || !/^\d{1,15}$/.test(v.trim())) return null;
  return Number(v.trim());
}
