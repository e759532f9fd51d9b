/**
 * GSM 03.38 default alphabet and its extension table (3GPP TS 23.038 §6.2.1).
 * SMPP carries GSM-7 unpacked: one septet per octet. Extension characters are sent as
 * ESC (0x1B) + code and so cost two septets.
 */

const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';

/** Extension table: character → code after ESC. */
const EXTENSION: ReadonlyArray<readonly [string, number]> = [
  ['\f', 0x0a],
  ['^', 0x14],
  ['{', 0x28],
  ['}', 0x29],
  ['\\', 0x2f],
  ['[', 0x3c],
  ['~', 0x3d],
  [']', 0x3e],
  ['|', 0x40],
  ['€', 0x65],
];

export const GSM_ESCAPE = 0x1b;

/** Septet cost per UTF-16 code unit: 0 = not in GSM-7, 1 = basic, 2 = extension. */
const COST = new Uint8Array(0x10000);
/** Septet value (basic) or extension code, indexed by UTF-16 code unit. */
const CODE = new Uint8Array(0x10000);
/** Decoding tables indexed by septet. */
const DECODE_BASIC: string[] = [];
const DECODE_EXT = new Map<number, string>();

for (let i = 0; i < BASIC.length; i++) {
  const ch = BASIC.charCodeAt(i);
  DECODE_BASIC[i] = BASIC[i]!;
  if (i === GSM_ESCAPE) continue;
  COST[ch] = 1;
  CODE[ch] = i;
}
for (const [ch, code] of EXTENSION) {
  const cu = ch.charCodeAt(0);
  COST[cu] = 2;
  CODE[cu] = code;
  DECODE_EXT.set(code, ch);
}

/** Septets needed for one UTF-16 code unit, 0 when the character is outside GSM-7. */
export function gsmSeptetCost(codeUnit: number): number {
  return COST[codeUnit] ?? 0;
}

/** True when every character of `text` is in the GSM-7 default alphabet or its extension. */
export function isGsm7(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (COST[text.charCodeAt(i)] === 0) return false;
  return true;
}

/** Septet length of `text`; throws a RangeError when a character is not in GSM-7 (check with isGsm7 first). */
export function gsmLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = COST[text.charCodeAt(i)]!;
    if (c === 0) throw new RangeError(`character U+${text.charCodeAt(i).toString(16)} is not in GSM-7`);
    n += c;
  }
  return n;
}

/** Characters of `text` that are not in GSM-7 (what forces UCS-2), in order of first appearance. */
export function nonGsmCharacters(text: string): string[] {
  const seen = new Set<string>();
  for (const ch of text) {
    const cu = ch.charCodeAt(0);
    if (ch.length > 1 || COST[cu] === 0) seen.add(ch);
  }
  return [...seen];
}

/**
 * Encodes `text` as unpacked GSM-7 septets (one per octet).
 * Fails with a RangeError on a character outside GSM-7: callers choose UCS-2 before that.
 */
export function encodeGsm7(text: string): Buffer {
  const out = Buffer.allocUnsafe(gsmLength(text));
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const cu = text.charCodeAt(i);
    if (COST[cu] === 2) out[o++] = GSM_ESCAPE;
    out[o++] = CODE[cu]!;
  }
  return out;
}

/**
 * Decodes unpacked GSM-7. Bytes above 0x7F are masked to 7 bits (some SMSCs set the top bit);
 * an unknown extension code decodes as its basic character, as 23.038 asks of receivers.
 */
export function decodeGsm7(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]! & 0x7f;
    if (b === GSM_ESCAPE && i + 1 < bytes.length) {
      const next = bytes[++i]! & 0x7f;
      s += DECODE_EXT.get(next) ?? DECODE_BASIC[next]!;
    } else if (b === GSM_ESCAPE) {
      s += ' ';
    } else {
      s += DECODE_BASIC[b]!;
    }
  }
  return s;
}

/** Unpacks GSM-7 packed septets (8 septets in 7 octets) starting `fillBits` bits in. */
export function unpackGsm7(packed: Uint8Array, septetCount: number, fillBits = 0): Buffer {
  const out = Buffer.alloc(septetCount);
  for (let i = 0; i < septetCount; i++) {
    const bit = fillBits + i * 7;
    const byte = bit >> 3;
    const shift = bit & 7;
    let v = (packed[byte] ?? 0) >> shift;
    if (shift > 1) v |= (packed[byte + 1] ?? 0) << (8 - shift);
    out[i] = v & 0x7f;
  }
  return out;
}
