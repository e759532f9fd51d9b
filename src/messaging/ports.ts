/**
 * What the messaging core needs from storage, in its own terms. src/store implements these on
 * PostgreSQL (or PGlite); tests may implement them in memory. Every method may reject with a
 * database error; callers classify it with `classifyDbError` (store/db-errors.ts) through the
 * `DbErrorClassifier` they are given.
 */
import type { SubmitOutcome } from '../smpp/carrier.ts';
import type { SubmitFields } from '../smpp/session-types.ts';
import type {
  ClaimedSegment,
  DraftSegment,
  EncodeProfile,
  MessageDraft,
  ReceiptUpdate,
  RollupResult,
  SegmentOutcome,
} from './model.ts';
import type { NumberType } from './vocabulary.ts';

/** A message as the API shows it. */
export interface MessageView {
  id: string;
  from: string;
  to: string;
  body: string;
  status: string;
  reason: string | null;
  errorCode: string | null;
  encoding: string;
  segments: number;
  possibleDuplicate: boolean;
  statusCallback: string | null;
  metadata: Record<string, unknown> | null;
  sendAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface SendingNumber {
  id: string;
  accountId: string;
  e164: string;
  type: NumberType;
  /**
   * Whether carriers accept A2P traffic from it: a local number assigned to an approved 10DLC
   * campaign, a verified toll-free number; mobile numbers and short codes (own programmes) are.
   */
  registered?: boolean | undefined;
  /** How far ahead its rate-limited queue reaches (set by dispatch; the queue cap reads it). */
  backlogUntil?: Date | undefined;
}

/** Accept side: batched inserts and idempotency look-ups. */
export interface MessageStore {
  /**
   * Inserts drafts in one statement (atomic). Returns the ids inserted: a draft whose (account,
   * idempotency key) exists already, or whose `guess` about its recipient no longer holds when
   * the statement runs, is skipped for the caller to resolve.
   */
  insertDrafts(drafts: MessageDraft[], now: Date): Promise<Set<string>>;
  /** Which of these message ids are stored (to settle an insert whose answer was lost). */
  storedIds(ids: string[]): Promise<Set<string>>;
  byIdempotencyKeys(
    accountId: string,
    keys: string[],
  ): Promise<Map<string, { hash: string; message: MessageView }>>;
}

/** Dispatch side: leased claims, outcome writes with their roll-up, sweeps, re-encoding. */
export interface DispatchStore {
  /**
   * Claims up to `limit` due segments with a lease (several instances never take the same one);
   * their messages become `sending` (the roll-up).
   */
  claim(limit: number, leaseMs: number): Promise<{ segments: ClaimedSegment[]; rollup: RollupResult }>;
  /**
   * Claims whose answer was lost with the connection (the database may have committed them):
   * their segments were never handed to us, so nothing of them was submitted.
   */
  readonly unconfirmedClaims: number;
  /**
   * Returns the segments of unconfirmed claims to the queue at once (not after their lease, and
   * not marked possibleDuplicate: they were never submitted). Rejects while the database is
   * unavailable; the claims stay unconfirmed until a call succeeds.
   */
  releaseUnconfirmedClaims(): Promise<number>;
  /** Writes outcomes of segments this instance leased; parked receipts for new SMSC ids apply too. */
  applyOutcomes(outcomes: SegmentOutcome[]): Promise<RollupResult>;
  /** Segments whose lease ran out (their instance died) go back, marked possibleDuplicate. */
  reclaimExpiredLeases(limit: number): Promise<{ count: number; rollup: RollupResult }>;
  /** Queued segments whose next attempt is older than `validityMs` end `expired`. */
  expireOverdue(limit: number, validityMs: number): Promise<{ count: number; rollup: RollupResult }>;
  /** `sent` segments without a receipt after `olderThanMs` end `unknown` (receipt_timeout). */
  timeoutSent(olderThanMs: number, limit: number): Promise<{ count: number; rollup: RollupResult }>;
  /** Message bodies, to re-encode for a carrier with another profile. */
  bodies(messageIds: string[]): Promise<Map<string, string>>;
  /**
   * Replaces every segment of a message with a new split (another carrier's profile), only while
   * none was submitted and none is leased by another instance. False when that no longer holds.
   */
  resplit(
    messageId: string,
    split: { segments: DraftSegment[]; segmentCount: number; encoding: string; profile: string },
  ): Promise<boolean>;
}

export interface UnmatchedReceipt {
  carrierId: string;
  smscId: string;
  status: string;
  errorCode: string | null;
  receivedAt: string;
  unmatchedAt: string;
}

/** Receipts: applied to their segment, or parked (stored) until the SMSC id is known. */
export interface ReceiptStore {
  /**
   * Applies receipts; those whose id matches no sent segment are parked, so every receipt is
   * stored once this resolves (when it rejects, some may be applied: applying one again moves
   * nothing). `matched[i]` tells which applied.
   */
  applyReceipts(
    receipts: ReceiptUpdate[],
    ttlMs: number,
  ): Promise<{ matched: boolean[]; rollup: RollupResult }>;
  /** Re-tries parked receipts younger than `youngerThanMs` against stored ids (cross-instance races). */
  rematchParked(youngerThanMs: number, limit: number): Promise<{ count: number; rollup: RollupResult }>;
  /** Marks parked receipts past their TTL unmatched and returns them (for counting and logs). */
  expireParked(limit: number): Promise<Array<{ carrierId: string; smscId: string }>>;
  listUnmatched(limit: number, before?: Date): Promise<UnmatchedReceipt[]>;
  /** Deletes unmatched receipts and rejected PDUs older than the retention. */
  prune(olderThanMs: number): Promise<number>;
}

/** The account directory the accept path reads (cached by the caller). */
export interface NumberDirectory {
  listNumbers(accountId: string): Promise<SendingNumber[]>;
}

/**
 * A carrier as dispatch sees it; src/smpp's Carrier implements it. `submit` never rejects: it
 * resolves ok, failed (permanent) or retryable (see SubmitOutcome).
 */
export interface CarrierLink {
  readonly id: string;
  readonly profile: EncodeProfile;
  /** Transmitting binds bound and answering now. */
  readonly healthyTransmitters: number;
  /** `stillWanted` is asked right before the PDU is written (see Carrier.submit). */
  submit(fields: SubmitFields, stillWanted?: () => boolean): Promise<SubmitOutcome>;
}
