import { AppError } from '../errors/app-error.ts';

/**
 * What a database error means for the caller:
 * - `unavailable`: the database could not be reached, dropped the connection, timed out or is
 *   overloaded — try again later (503); a statement whose answer was lost may have committed;
 * - `data`: the database refused these values (bad text, out of range, constraint) — retrying
 *   the same row fails again; isolate it (400);
 * - `conflict`: a unique key exists (the caller resolves it);
 * - `other`: anything else, a bug (500).
 */
export type DbErrorKind = 'unavailable' | 'data' | 'conflict' | 'other';

const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

const UNAVAILABLE_MESSAGES = [
  'connection terminated',
  'timeout exceeded when trying to connect',
  'query read timeout',
  'client was closed',
  'cannot use a pool after calling end',
  'client has encountered a connection error',
  'connection ended',
  'not queryable',
  'database is closing',
  'pglite is closed',
];

/** Classifies an error thrown by pg, pg-pool or PGlite (or a wrapper around one). Never throws. */
export function classifyDbError(err: unknown): DbErrorKind {
  if (err instanceof AppError) return err.code === 'DATABASE_UNAVAILABLE' ? 'unavailable' : 'other';
  const e = err as { code?: unknown; message?: unknown } | null | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^[0-9A-Z]{5}$/.test(code)) {
    if (code === '23505') return 'conflict';
    const cls = code.slice(0, 2);
    if (cls === '22' || cls === '23' || cls === '54') return 'data';
    if (cls === '08' || cls === '53' || cls === '58' || cls === '40') return 'unavailable';
    if (code === '57014' || code.startsWith('57P')) return 'unavailable';
    if (code === '25P03') return 'unavailable'; // idle-in-transaction timeout
    return 'other';
  }
  if (NET_CODES.has(code)) return 'unavailable';
  const msg = typeof e?.message === 'string' ? e.message.toLowerCase() : '';
  if (UNAVAILABLE_MESSAGES.some((m) => msg.includes(m))) return 'unavailable';
  return 'other';
}

/** The 503 callers get when the database is unavailable: try again. */
export function databaseUnavailable(err?: unknown): AppError {
  return new AppError('DATABASE_UNAVAILABLE', undefined, { cause: err });
}

/**
 * Maps a database error to what an HTTP caller should see: 503 when the database is unavailable,
 * 400 UNSTORABLE_INPUT when it refused the values, the error itself otherwise (500 upstream).
 */
export function dbErrorToAppError(err: unknown): unknown {
  switch (classifyDbError(err)) {
    case 'unavailable':
      return err instanceof AppError ? err : databaseUnavailable(err);
    case 'data':
      return new AppError('UNSTORABLE_INPUT', undefined, { cause: err });
    default:
      return err;
  }
}

/** Awaits a database call, turning its failure into what an HTTP caller should see (dbErrorToAppError). */
export const db = <T>(p: Promise<T>): Promise<T> =>
  p.catch((e: unknown) => {
    throw dbErrorToAppError(e);
  });
