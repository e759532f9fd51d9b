import { createHash, randomUUID } from 'node:crypto';
import { AppError } from '../errors/app-error.ts';
import { toE164 } from '../numbers/phone.ts';
import { encodeForProfile } from './encode-profile.ts';
import { newMessageId } from './ids.ts';
import type { TrackedLink } from './links.ts';
import type { EncodeProfile, MessageDraft, SendRequest } from './model.ts';
import type { NumberType } from './vocabulary.ts';

/** How far ahead a message may be scheduled. */
export const MAX_SCHEDULE_MS = 35 * 86_400_000;

export interface ComposePolicy {
  defaultRegion: string;
  maxSegments: number;
  validityMs: number;
}

/** A request checked and normalised, before policies and encoding: what accept policies decide on. */
export interface AcceptCandidate {
  id: string;
  accountId: string;
  from: string;
  to: string;
  numberType: NumberType;
  body: string;
  statusCallback: string | undefined;
  metadata: Record<string, unknown> | undefined;
  /** As asked (may be in the past: then now). */
  sendAt: Date | undefined;
  idempotencyKey: string | undefined;
  requestHash: string | undefined;
  /** As asked; undefined: the account's setting. */
  quietHours?: 'schedule' | 'reject' | undefined;
  now: Date;
  /**
   * The recipient as a contact, when the accept path read it already (null: not a contact);
   * undefined: not read — a policy that needs it looks it up.
   */
  contact?: { dnd: boolean; timeZone: string | null; firstSent?: boolean | undefined } | null | undefined;
  /** As asked; undefined: the account's setting. */
  trackLinks?: boolean | undefined;
  /** Short links a policy put in the body. */
  links?: readonly TrackedLink[] | undefined;
  /**
   * A contact row for (account, to) is known to be stored: the accept path read it, or a policy
   * upserted it (the footer claim). The accept insert then does not create it again.
   */
  contactStored?: boolean | undefined;
  /**
   * `contact` is null because the accept path guessed it (the recipient was not read; the insert
   * verifies the guess). A policy whose load would write on the contact (the footer claim) must
   * not: it sets `guessRefused`, and the accept path reads the recipient and prepares again.
   */
  guessedNewContact?: boolean | undefined;
  guessRefused?: boolean | undefined;
  /** The sending number's registration (10DLC campaign, toll-free verification); undefined: unknown. */
  senderRegistered?: boolean | undefined;
  /** How far ahead the sender's rate-limited queue reaches (undefined: no backlog known). */
  senderBacklogUntil?: Date | undefined;
}

/** Stable hash of what the client asked, to tell an idempotent retry from a different request. */
export function requestHash(req: SendRequest): string {
  const canonical = JSON.stringify([
    req.to,
    req.body,
    req.from ?? null,
    req.statusCallback ?? null,
    req.metadata ?? null,
    req.sendAt ?? null,
    req.quietHours ?? null,
    // appended only when given: hashes of earlier requests stay what they were
    ...(req.userId === undefined ? [] : [req.userId.toLowerCase()]),
    ...(req.trackLinks === undefined ? [] : [`trackLinks=${req.trackLinks}`]),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

const MIN_DATE = Date.UTC(1970, 0, 1);
const MAX_DATE = Date.UTC(9999, 11, 31, 23, 59, 59);

/**
 * Parses an ISO 8601 date-time the database can store (1970–9999). Throws INVALID_DATE (or `code`)
 * naming `field` otherwise.
 */
export function parseDateTime(
  field: string,
  v: string,
  code: 'INVALID_DATE' | 'INVALID_SEND_AT' = 'INVALID_DATE',
): Date {
  const t = /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(t) || t < MIN_DATE || t > MAX_DATE)
    throw new AppError(code, `${field} must be an ISO 8601 date-time between 1970 and 9999`);
  return new Date(t);
}

/**
 * Checks and normalises a request (numbers, body, callback URL form, sendAt syntax). Pure apart
 * from the id. Throws a 4xx AppError: INVALID_TO_NUMBER, BODY_EMPTY, INVALID_SEND_AT,
 * INVALID_CALLBACK_URL. `from` must already be resolved to one of the account's numbers.
 */
export function checkRequest(
  req: SendRequest,
  ctx: {
    accountId: string;
    from: { e164: string; type: NumberType };
    idempotencyKey?: string | undefined;
    now: Date;
  },
  policy: ComposePolicy,
  checkCallbackUrl: (url: string) => void,
): AcceptCandidate {
  const to = toE164(req.to, policy.defaultRegion, 'INVALID_TO_NUMBER');
  if (req.body.length === 0) throw new AppError('BODY_EMPTY');
  const sendAt =
    req.sendAt === undefined ? undefined : parseDateTime('sendAt', req.sendAt, 'INVALID_SEND_AT');
  if (req.statusCallback !== undefined) checkCallbackUrl(req.statusCallback);
  return {
    // Time-ordered ids keep the primary-key indexes append-only and their hot pages few.
    id: newMessageId(),
    accountId: ctx.accountId,
    from: ctx.from.e164,
    to,
    numberType: ctx.from.type,
    body: req.body,
    statusCallback: req.statusCallback,
    metadata: req.metadata,
    sendAt,
    idempotencyKey: ctx.idempotencyKey,
    requestHash: ctx.idempotencyKey === undefined ? undefined : requestHash(req),
    quietHours: req.quietHours,
    trackLinks: req.trackLinks,
    now: ctx.now,
  };
}

/**
 * Encodes an accepted candidate for its route's carrier profile. `notBefore` is when it may be
 * sent (a future sendAt, or a deferral by a policy). Throws BODY_TOO_LONG above `maxSegments`.
 */
export function draftFor(
  c: AcceptCandidate,
  profile: EncodeProfile,
  policy: ComposePolicy,
  referenceNumber: number,
  notBefore: Date | undefined,
  /** The body and links after the policies (given apart: copying the candidate costs per message). */
  body: string = c.body,
  links: readonly TrackedLink[] | undefined = c.links,
): MessageDraft {
  let enc: ReturnType<typeof encodeForProfile>;
  try {
    enc = encodeForProfile(body, profile, referenceNumber);
  } catch {
    throw new AppError(
      'BODY_TOO_LONG',
      `body needs more than 255 segments; the limit is ${policy.maxSegments}`,
    );
  }
  if (enc.segmentCount > policy.maxSegments) {
    throw new AppError(
      'BODY_TOO_LONG',
      `body needs ${enc.segmentCount} segments (${enc.encoding}); the limit is ${policy.maxSegments}`,
    );
  }
  const sendAt = notBefore && notBefore.getTime() > c.now.getTime() ? notBefore : undefined;
  const startAt = sendAt ?? c.now;
  return {
    id: c.id,
    accountId: c.accountId,
    from: c.from,
    to: c.to,
    numberType: c.numberType,
    body,
    encoding: enc.encoding,
    segmentCount: enc.segmentCount,
    segments: enc.segments,
    profile: enc.profile,
    statusCallback: c.statusCallback,
    metadata: c.metadata,
    sendAt,
    expiresAt: new Date(startAt.getTime() + policy.validityMs),
    idempotencyKey: c.idempotencyKey,
    requestHash: c.requestHash,
    // Always set (a spread would give drafts two shapes and slow every one of them).
    links,
    contactStored: c.contactStored === true,
  };
}

/** A random id for things that are not messages (api keys, parked receipts). */
export const newId = (): string => randomUUID();
