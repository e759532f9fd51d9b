/**
 * The sender rule: which of the account's numbers a message goes from when the request names none.
 * Pure: the caller looks the hints up (one statement per batch) and passes the account's numbers.
 */
import type { SendingNumber } from './ports.ts';

/** Where a pre-selected sender came from, in the order they are tried. */
export const SENDER_SOURCES = ['assigned', 'sticky', 'user_default', 'account_default'] as const;
export type SenderSource = (typeof SENDER_SOURCES)[number];

/** What is known about one recipient and one request, each possibly null. */
export interface SenderHints {
  /** The contact's assigned number. */
  assigned: string | null;
  /** The number the contact last texted. */
  sticky: string | null;
  /** The sending user's default number. */
  userDefault: string | null;
  /** The account's default number. */
  accountDefault: string | null;
}

export const NO_HINTS: SenderHints = {
  assigned: null,
  sticky: null,
  userDefault: null,
  accountDefault: null,
};

/**
 * The first hint that is still one of the account's numbers (a released number is skipped, never
 * used), with where it came from; undefined when none is — the caller answers NO_SENDER_NUMBER.
 */
export function chooseSender(
  numbers: readonly SendingNumber[],
  hints: SenderHints,
): { number: SendingNumber; source: SenderSource } | undefined {
  const order: Array<[SenderSource, string | null]> = [
    ['assigned', hints.assigned],
    ['sticky', hints.sticky],
    ['user_default', hints.userDefault],
    ['account_default', hints.accountDefault],
  ];
  for (const [source, e164] of order) {
    if (e164 === null) continue;
    const number = numbers.find((n) => n.e164 === e164);
    if (number) return { number, source };
  }
  return undefined;
}

/** One recipient's (and one user's) hints to look up; `to` and `userId` are optional. */
export interface SenderQuery {
  accountId: string;
  /** The recipient, E.164. */
  to?: string | undefined;
  /** A user id (UUID) whose default number is wanted. */
  userId?: string | undefined;
}

/** What compliance needs to know of a recipient who is a contact (read with the hints). */
export interface RecipientFacts {
  /** Do-Not-Disturb: the contact opted out. */
  dnd: boolean;
  /** The contact's own zone, overriding what the number says. */
  timeZone: string | null;
  /** The account's first message to them is stored or being sent: no opt-out footer is due. */
  firstSent: boolean;
}

/** The hints of one query; `userDefault` is undefined when the user is not the account's. */
export interface SenderAnswer extends Omit<SenderHints, 'userDefault'> {
  userDefault: string | null | undefined;
  /** The recipient as a contact (null: not a contact; undefined: `to` was not asked). */
  contact: RecipientFacts | null | undefined;
}

/**
 * Reads hints for many queries (of many requests and accounts) in one statement — with the
 * recipient's consent and zone, so that the accept path reads each recipient once.
 */
export interface SenderDirectory {
  /** One answer per query, in order. Rejects with a database error. */
  senderHints(queries: readonly SenderQuery[]): Promise<SenderAnswer[]>;
  /** The accounts' default numbers (null: none; an unknown account is left out). Rejects with a database error. */
  accountDefaults(accountIds: readonly string[]): Promise<Map<string, string | null>>;
}
