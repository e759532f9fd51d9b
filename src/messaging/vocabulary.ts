/**
 * The messaging core's vocabularies, each defined once: message and segment statuses with their
 * ranks, number types, and the reasons a message waits or ends. The store's SQL function
 * `parley_status_rank` mirrors STATUS_RANK (a test keeps them equal).
 */

export const MESSAGE_STATUSES = [
  'scheduled',
  'queued',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'expired',
  'rejected',
  'unknown',
] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** Statuses never move to a lower rank: 0 waiting, 1 with the carrier, 2 accepted by the SMSC, 3 final. */
export const STATUS_RANK: Readonly<Record<MessageStatus, 0 | 1 | 2 | 3>> = {
  scheduled: 0,
  queued: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  undelivered: 3,
  failed: 3,
  expired: 3,
  rejected: 3,
  unknown: 3,
};

export type FinalStatus = 'delivered' | 'undelivered' | 'failed' | 'expired' | 'rejected' | 'unknown';
export const FINAL_STATUSES: ReadonlySet<MessageStatus> = new Set(
  MESSAGE_STATUSES.filter((s) => STATUS_RANK[s] === 3),
);
/** Final statuses that mean the message did not reach the handset. */
export const FAILURE_STATUSES: ReadonlySet<MessageStatus> = new Set([
  'undelivered',
  'failed',
  'expired',
  'rejected',
]);

export function isFinal(s: MessageStatus): boolean {
  return STATUS_RANK[s] === 3;
}

export const NUMBER_TYPES = ['local', 'toll_free', 'short_code', 'mobile'] as const;
export type NumberType = (typeof NUMBER_TYPES)[number];

export function isNumberType(s: string): s is NumberType {
  return (NUMBER_TYPES as readonly string[]).includes(s);
}

/**
 * Why a message ended as it did (final reasons) or why it waits (transient reasons, kept while
 * it is queued). Lower-case, stable; the carrier's own code is kept beside it as `errorCode`.
 */
export const REASONS = [
  // final
  'validity_expired',
  'carrier_rejected',
  'invalid_number',
  'submit_outcome_unknown',
  'receipt_undeliverable',
  'receipt_expired',
  'receipt_rejected',
  'receipt_deleted',
  'receipt_unknown',
  'receipt_skipped',
  'receipt_timeout',
  'contact_opted_out',
  'frequency_cap',
  'number_not_registered',
  // transient: the message waits and is tried again
  'scheduled',
  'no_carrier_bound',
  'destination_busy',
  'throttled',
  'bind_lost',
  'response_timeout',
  'temporary_error',
  'lease_expired',
  're_encoding',
  'withdrawn',
  'quiet_hours',
  'rate_limited',
  'daily_cap_reached',
  'registration_pending',
] as const;
export type Reason = (typeof REASONS)[number];

/** Transient reasons: a message keeps them only while it waits to be tried again. */
export const TRANSIENT_REASONS: ReadonlySet<Reason> = new Set([
  'scheduled',
  'no_carrier_bound',
  'destination_busy',
  'throttled',
  'bind_lost',
  'response_timeout',
  'temporary_error',
  'lease_expired',
  're_encoding',
  'withdrawn',
  'quiet_hours',
  'rate_limited',
  'daily_cap_reached',
  'registration_pending',
]);

/** How the per-number figures split failures (what an account owner acts on). */
export const FAILURE_CLASSES = [
  'contact_opted_out',
  'invalid_number',
  'carrier_filtered',
  'unregistered',
  'quiet_hours',
  'expired',
  'other',
] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

const FAILURE_CLASS_OF: Partial<Record<Reason, FailureClass>> = {
  contact_opted_out: 'contact_opted_out',
  invalid_number: 'invalid_number',
  carrier_rejected: 'carrier_filtered',
  receipt_rejected: 'carrier_filtered',
  number_not_registered: 'unregistered',
  quiet_hours: 'quiet_hours',
  validity_expired: 'expired',
  receipt_expired: 'expired',
};

/** The class of a failed message's reason; anything else the carrier said is `other`. */
export function failureClass(reason: string | null | undefined): FailureClass {
  // Own keys only: a reason named like an Object.prototype member ("toString") is `other`.
  return reason != null && Object.hasOwn(FAILURE_CLASS_OF, reason)
    ? FAILURE_CLASS_OF[reason as Reason]!
    : 'other';
}

/** failureClass as an SQL expression over the text column `col` (the rollups compute it in the write). */
export function failureClassSql(col: string): string {
  const whens = Object.entries(FAILURE_CLASS_OF)
    .map(([r, c]) => `WHEN '${r}' THEN '${c}'`)
    .join(' ');
  return `(CASE ${col} ${whens} ELSE 'other' END)`;
}
