/** What the accept path answers: an accepted message, a batch item's result, and its errors. */
import { AppError, type ErrorCode } from '../errors/app-error.ts';
import { ERROR_CATALOG } from '../errors/catalog.ts';
import { BatcherFullError } from '../store/batcher.ts';
import { dbErrorToAppError } from '../store/db-errors.ts';
import type { MessageDraft } from './model.ts';
import type { MessageView } from './ports.ts';

/** What the API answers for an accepted message. */
export interface Accepted {
  id: string;
  status: string;
  segments: number;
  encoding: string;
  /** The account's number it goes from. */
  from: string;
  /** Advice about the message (it was accepted), e.g. business_name_missing. */
  warnings?: string[];
}

export type BatchItemResult =
  | { index: number; accepted: Accepted }
  | { index: number; error: { code: string; message: string } };

/** A policy's refusal as the API answers it; a code outside the catalog answers VALIDATION_FAILED. */
export function policyError(code: string, message: string, retryAfterMs?: number): AppError {
  const details =
    retryAfterMs === undefined ? undefined : { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) };
  return code in ERROR_CATALOG
    ? new AppError(code as ErrorCode, message, { details })
    : new AppError('VALIDATION_FAILED', message);
}

/** The answer for a draft just stored. */
export function acceptedOf(d: MessageDraft): Accepted {
  return {
    id: d.id,
    status: d.sendAt ? 'scheduled' : 'queued',
    segments: d.segmentCount,
    encoding: d.encoding,
    from: d.from,
    ...(d.warnings?.length ? { warnings: d.warnings } : {}),
  };
}

/** The answer for a message stored earlier (an idempotent replay). */
export function acceptedOfStored(m: MessageView): Accepted {
  return { id: m.id, status: m.status, segments: m.segments, encoding: m.encoding, from: m.from };
}

/** Maps a writer failure to what the caller sees: 503 (unavailable, saturated) or 400 (refused row). */
export function writeError(err: unknown): unknown {
  if (err instanceof BatcherFullError) return new AppError('OVERLOADED');
  return dbErrorToAppError(err);
}
