/**
 * The simulator's own text handling, written apart from src/ on purpose: it decodes what the
 * gateway sends and encodes MO the way a handset network would, so it checks the gateway's
 * encoding instead of repeating it.
 */

// 3GPP TS 23.038 default alphabet, position = septet value; ESC (0x1B) shown as a space placeholder.
const GSM =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXT: Record<number, string> = {
  10: '\f',
  20: '^',
  40: '{',
  41: '}',
  47: '\\',
  60: '[',
  61: '~',
  62: ']',
  64: '|',
  101: '€',
};
const GSM_INDEX = new Map<string, number>();
for (let i = 0; i < GSM.length; i++) if (i !== 0x1b) GSM_INDEX.set(GSM[i]!, i);
const GSM_EXT_INDEX = new Map<string, number>(Object.entries(GSM_EXT).map(([k, v]) => [v, Number(k)]));

export type SimEncoding = 'gsm7' | 'ascii' | 'latin1' | 'ucs2';

export function dataCodingFor(enc: SimEncoding): number {
  return { gsm7: 0x00, ascii: 0x01, latin1: 0x03, ucs2: 0x08 }[enc];
}

/** Decodes octets by data_coding the way a receiving SMSC would; unknown codings as hex. */
export function decodeBytes(data: Buffer, dataCoding: number): string {
  if (dataCoding === 0x08 || (dataCoding & 0xec) === 0x08) {
    let s = '';
    for (let i = 0; i + 1 < data.length; i += 2) s += String.fromCharCode((data[i]! << 8) | data[i + 1]!);
    return s;
  }
  if (dataCoding === 0x03) return data.toString('latin1');
  if (dataCoding === 0x02 || dataCoding === 0x04) return data.toString('hex');
  if (dataCoding === 0x01) return data.toString('ascii');
  let s = '';
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b === 0x1b && i + 1 < data.length) s += GSM_EXT[data[++i]!] ?? '?';
    else s += GSM[b] ?? '?';
  }
  return s;
}

/** Encodes text for an MO; returns undefined when `enc` cannot carry some character. */
export function encodeText(text: string, enc: SimEncoding): Buffer | undefined {
  if (enc === 'ucs2') {
    const out = Buffer.alloc(text.length * 2);
    for (let i = 0; i < text.length; i++) out.writeUInt16BE(text.charCodeAt(i), i * 2);
    return out;
  }
  if (enc === 'latin1' || enc === 'ascii') {
    const max = enc === 'latin1' ? 0xff : 0x7f;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > max) return undefined;
    return Buffer.from(text, 'latin1');
  }
  const bytes: number[] = [];
  for (const ch of text) {
    const b = GSM_INDEX.get(ch);
    if (b !== undefined) bytes.push(b);
    else {
      const e = GSM_EXT_INDEX.get(ch);
      if (e === undefined) return undefined;
      bytes.push(0x1b, e);
    }
  }
  return Buffer.from(bytes);
}

/** Splits encoded text into `n` parts on character boundaries (never inside ESC+code or a UCS-2 unit). */
export function splitEncoded(data: Buffer, enc: SimEncoding, n: number): Buffer[] {
  const unit = enc === 'ucs2' ? 2 : 1;
  const cuts: number[] = [0];
  const size = Math.ceil(data.length / n);
  let at = 0;
  while (cuts.length < n && at < data.length) {
    at = Math.min(data.length, cuts[cuts.length - 1]! + size);
    if (unit === 2) at -= at % 2;
    if (enc === 'ucs2' && at >= 2 && at < data.length) {
      const hi = data.readUInt16BE(at - 2);
      if (hi >= 0xd800 && hi <= 0xdbff) at -= 2;
    }
    if (enc === 'gsm7' && at > 0 && data[at - 1] === 0x1b) at -= 1;
    cuts.push(at);
  }
  cuts.push(data.length);
  const parts: Buffer[] = [];
  for (let i = 0; i + 1 < cuts.length; i++)
    if (cuts[i + 1]! > cuts[i]!) parts.push(data.subarray(cuts[i]!, cuts[i + 1]!));
  return parts;
}
