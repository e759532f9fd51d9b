/**
 * Matching SMSC message ids between submit_sm_resp and receipts. SMSCs render one id in several
 * ways: case, leading zeros, hex in one PDU and decimal in the other, base 36. Ids are reduced to
 * keys: `n:<value>` for a numeric reading, `s:<text>` otherwise; a receipt matches the segment
 * stored under one of its candidate keys, most likely first. Pure.
 */

export const MESSAGE_ID_FORMATS = ['auto', 'text', 'decimal', 'hex', 'base36'] as const;
export type MessageIdFormat = (typeof MESSAGE_ID_FORMATS)[number];

export interface MessageIdFormats {
  /** How the SMSC renders ids in submit_sm_resp. */
  submit: MessageIdFormat;
  /** How it renders them in receipts (receipted_message_id, or id: in the text). */
  receipt: MessageIdFormat;
}

/** Longer ids are compared as text only: no SMSC counter needs more digits, and BigInt work stays bounded. */
const MAX_NUMERIC_LENGTH = 40;

function normalize(id: string): string {
  // Control characters (a NUL terminator inside a TLV, stray CR/LF in a text receipt) are never part of an id.
  return id
    .replace(/\p{Cc}/gu, '')
    .trim()
    .toLowerCase();
}

function stripZeros(s: string): string {
  return s.replace(/^0+(?=.)/, '');
}

function base36(s: string): bigint {
  let v = 0n;
  for (let i = 0; i < s.length; i++) v = v * 36n + BigInt(Number.parseInt(s[i]!, 36));
  return v;
}

/** The key of `id` read in one format, or undefined when the id cannot be read that way. */
export function idReading(id: string, format: Exclude<MessageIdFormat, 'auto'>): string | undefined {
  const s = normalize(id);
  if (s === '') return undefined;
  if (format === 'text') return `s:${stripZeros(s)}`;
  if (s.length > MAX_NUMERIC_LENGTH) return undefined;
  switch (format) {
    case 'decimal':
      return /^[0-9]+$/.test(s) ? `n:${BigInt(s).toString(10)}` : undefined;
    case 'hex':
      return /^[0-9a-f]+$/.test(s) ? `n:${BigInt(`0x${s}`).toString(10)}` : undefined;
    case 'base36':
      return /^[0-9a-z]+$/.test(s) ? `n:${base36(s).toString(10)}` : undefined;
  }
}

/**
 * The one key a submitted id is stored under. `auto` reads hex-looking ids as hex (so a decimal
 * or zero-padded rendering in the receipt can still be matched) and anything else as text.
 * Empty for an empty id.
 */
export function submitIdKey(id: string, format: MessageIdFormat = 'auto'): string | undefined {
  if (format === 'auto') return idReading(id, 'hex') ?? idReading(id, 'text');
  return idReading(id, format) ?? idReading(id, 'text');
}

/**
 * Keys a receipt's id may match, most likely first. With `auto`: the reading a submitted id of
 * the same rendering would have, then the decimal reading (hex in the response, decimal in the
 * receipt). A named format gives exactly one key, so no two ids can be confused.
 */
export function receiptIdCandidates(id: string, format: MessageIdFormat = 'auto'): string[] {
  if (format !== 'auto') {
    const k = idReading(id, format) ?? idReading(id, 'text');
    return k ? [k] : [];
  }
  const out: string[] = [];
  for (const k of [idReading(id, 'hex') ?? idReading(id, 'text'), idReading(id, 'decimal')])
    if (k && !out.includes(k)) out.push(k);
  return out;
}
