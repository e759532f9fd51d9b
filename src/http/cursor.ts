import { AppError } from '../errors/app-error.ts';
import { parseDateTime } from '../messaging/compose.ts';

import { UUID } from '../messaging/ids.ts';

export { UUID };

/** An opaque cursor for keyset pagination by (created_at, id). */
export function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

/** Reads a cursor this API returned. Throws INVALID_CURSOR (400) for anything else. */
export function decodeCursor(c: string): { createdAt: Date; id: string } {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'string' || !UUID.test(v[1]))
      throw new Error('bad');
    return { createdAt: parseDateTime('cursor', v[0]), id: v[1] };
  } catch {
    throw new AppError('INVALID_CURSOR');
  }
}
