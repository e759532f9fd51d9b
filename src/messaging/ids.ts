import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

// uuid's own v7 draws 16 fresh bytes from WebCrypto per id (~40 µs each, bench e2e profile); one
// draw of 4 KB serves 256 ids.
const pool = Buffer.allocUnsafe(16 * 256);
let used = pool.length;

function random16(): Uint8Array {
  if (used + 16 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const out = pool.subarray(used, used + 16);
  used += 16;
  return out;
}

/**
 * A message id: a UUIDv7 (time-ordered, so primary-key indexes grow at their right edge and their
 * hot pages stay few), 74 random bits.
 */
export function newMessageId(): string {
  return uuidv7({ random: random16() });
}

/** A UUID in any case (ids the API is given: malformed ones are not sent to the database). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
