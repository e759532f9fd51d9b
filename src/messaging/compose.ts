import { createHash, randomUUID } from 'node:crypto';
import { AppError } from '../errors/app-error.ts';
import type { NumberType } from '../numbers/phone.ts';
import { toE164 } from '../numbers/phone.ts';
import { type EncodeOptions, encodeMessage } from '../smpp/encoding/segment.ts';

/** What a client asks to send (validated shape, not yet checked against the account). */
export interface SendRequest {
  to: string;
  body: string;
  from?: string | undefined;
  statusCallback?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  sendAt?: string | undefined;
}

export interface DraftSegment {
  idx: number;
  payload: Buffer;
  dataCoding: number;
  esmClass: number;
  usePayloadTlv: boolean;
}

/** A message ready to be stored: numbers normalised, text encoded and cut into segments. */
export interface MessageDraft {
  id: string;
  accountId: string;
  from: string;
  to: string;
  numberType: NumberType;
  body: string;
  encoding: string;
  segmentCount: number;
  segments: DraftSegment[];
  statusCallback: string | undefined;
  metadata: Record<string, unknown> | undefined;
  sendAt: Date | undefined;
  expiresAt: Date;
  idempotencyKey: string | undefined;
  /** Hash of the request, kept only with an idempotency key (to tell a replay from a conflict). */
  requestHash: string | undefined;
}

export interface ComposePolicy {
  defaultRegion: string;
  maxSegments: number;
  validityMs: number;
  encode: EncodeOptions;
}

function bad(code: string, message: string): AppError {
  return new AppError(code, message, { httpStatus: 400, action: 'fix-request' });
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
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Turns a request into a draft. Pure apart from the id and clock. Throws a 4xx AppError with a
 * stable code: INVALID_TO_NUMBER, BODY_EMPTY, BODY_TOO_LONG, INVALID_SEND_AT, INVALID_CALLBACK_URL.
 * `from` must already be resolved to one of the account's numbers by the caller.
 */
export function composeMessage(
  req: SendRequest,
  ctx: {
    accountId: string;
    from: { e164: string; type: NumberType };
    idempotencyKey?: string | undefined;
    now: Date;
    referenceNumber: number;
  },
  policy: ComposePolicy,
): MessageDraft {
  const to = toE164(req.to, policy.defaultRegion, 'INVALID_TO_NUMBER');
  if (req.body.length === 0) throw bad('BODY_EMPTY', 'body must not be empty');
  let sendAt: Date | undefined;
  if (req.sendAt !== undefined) {
    sendAt = new Date(req.sendAt);
    if (Number.isNaN(sendAt.getTime()))
      throw bad('INVALID_SEND_AT', `sendAt "${req.sendAt}" is not an ISO 8601 date-time`);
    if (sendAt.getTime() > ctx.now.getTime() + 35 * 86_400_000)
      throw bad('INVALID_SEND_AT', 'sendAt may be at most 35 days ahead');
    if (sendAt.getTime() <= ctx.now.getTime()) sendAt = undefined;
  }
  if (req.statusCallback !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(req.statusCallback);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:'))
      throw bad('INVALID_CALLBACK_URL', 'statusCallback must be an http(s) URL');
  }
  let enc: ReturnType<typeof encodeMessage>;
  try {
    enc = encodeMessage(req.body, { ...policy.encode, referenceNumber: ctx.referenceNumber });
  } catch {
    throw bad('BODY_TOO_LONG', `body needs more than 255 segments; the limit is ${policy.maxSegments}`);
  }
  if (enc.segmentCount > policy.maxSegments) {
    throw bad(
      'BODY_TOO_LONG',
      `body needs ${enc.segmentCount} segments (${enc.encoding}); the limit is ${policy.maxSegments}`,
    );
  }
  const payloadMode = policy.encode.mode === 'payload';
  const startAt = sendAt ?? ctx.now;
  return {
    id: randomUUID(),
    accountId: ctx.accountId,
    from: ctx.from.e164,
    to,
    numberType: ctx.from.type,
    body: req.body,
    encoding: enc.encoding,
    segmentCount: enc.segmentCount,
    segments: enc.parts.map((p, idx) => ({
      idx,
      payload: p.bytes,
      dataCoding: enc.dataCoding,
      esmClass: enc.udhi ? 0x40 : 0,
      usePayloadTlv: payloadMode || p.bytes.length > 254,
    })),
    statusCallback: req.statusCallback,
    metadata: req.metadata,
    sendAt,
    expiresAt: new Date(startAt.getTime() + policy.validityMs),
    idempotencyKey: ctx.idempotencyKey,
    requestHash: ctx.idempotencyKey === undefined ? undefined : requestHash(req),
  };
}
