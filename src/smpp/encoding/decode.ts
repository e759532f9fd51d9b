import { decodeGsm7 } from './gsm7.ts';

export type Alphabet = 'gsm7' | 'ascii' | 'latin1' | 'ucs2' | 'binary';

/**
 * Alphabet a data_coding value names (SMPP 3.4 §5.2.19 and 3GPP TS 23.038 §4).
 * Unlike `smpp`'s `data_coding & 0x0F`, coding groups are honoured: 0x18 and 0x48 are UCS-2,
 * 0xF4 is 8-bit. SMPP's own values 0x05–0x0F other than 0x08 name national character sets
 * (JIS, Cyrillic, Hebrew, pictograms, ISO-2022-JP, Kanji, KS C 5601) we do not decode: they are
 * kept as octets (`binary`), never guessed into text.
 */
export function alphabetOf(dataCoding: number): Alphabet {
  if (dataCoding < 0x10) {
    switch (dataCoding) {
      case 0x00:
        return 'gsm7';
      case 0x01:
        return 'ascii';
      case 0x03:
        return 'latin1';
      case 0x08:
        return 'ucs2';
      default:
        return 'binary';
    }
  }
  // 00xx general data coding, and 01xx (marked for automatic deletion) coded the same way:
  // bits 3..2 are the alphabet.
  if (dataCoding < 0x80) return GENERAL[(dataCoding >> 2) & 0x03]!;
  const group = dataCoding & 0xf0;
  if (group === 0xf0) return dataCoding & 0x04 ? 'binary' : 'gsm7';
  if (group === 0xe0) return 'ucs2';
  // Message waiting groups 0xC0/0xD0 are GSM-7; reserved groups 0x80–0xB0 are read as the
  // default alphabet, as TS 23.038 tells a receiving entity to.
  return 'gsm7';
}

const GENERAL: readonly Alphabet[] = ['gsm7', 'binary', 'ucs2', 'gsm7'];

/** Decodes short_message / message_payload octets (without UDH) by data_coding. Never throws. */
export function decodeText(bytes: Uint8Array, dataCoding: number): { text: string; alphabet: Alphabet } {
  const alphabet = alphabetOf(dataCoding);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (alphabet) {
    case 'gsm7':
      return { text: decodeGsm7(buf), alphabet };
    case 'ascii': {
      let s = '';
      for (let i = 0; i < buf.length; i++) s += String.fromCharCode(buf[i]! & 0x7f);
      return { text: s, alphabet };
    }
    case 'latin1':
      return { text: buf.toString('latin1'), alphabet };
    case 'ucs2': {
      const even = buf.length & ~1;
      const copy = Buffer.from(buf.subarray(0, even));
      return { text: copy.swap16().toString('utf16le'), alphabet };
    }
    default:
      return { text: buf.toString('hex'), alphabet };
  }
}

export interface ConcatInfo {
  ref: number;
  total: number;
  seq: number;
}

export interface SplitUdh {
  concat: ConcatInfo | undefined;
  /** The user data after the UDH. */
  payload: Buffer;
  /** Raw UDH including its length octet, empty when absent. */
  udh: Buffer;
}

/**
 * Splits a UDH off `data` (call only when esm_class has UDHI, 0x40) and reads the concatenation
 * element (IEI 0x00 8-bit ref or 0x08 16-bit ref). A UDH longer than the data is treated as absent
 * so that a malformed part is still delivered as text rather than dropped.
 */
export function splitUdh(data: Buffer): SplitUdh {
  const udhl = data[0];
  if (udhl === undefined || udhl + 1 > data.length)
    return { concat: undefined, payload: data, udh: Buffer.alloc(0) };
  let concat: ConcatInfo | undefined;
  let i = 1;
  const end = udhl + 1;
  while (i + 1 < end) {
    const iei = data[i]!;
    const len = data[i + 1]!;
    const v = i + 2;
    if (v + len > end) break;
    if (iei === 0x00 && len === 3) concat = { ref: data[v]!, total: data[v + 1]!, seq: data[v + 2]! };
    else if (iei === 0x08 && len === 4)
      concat = { ref: (data[v]! << 8) | data[v + 1]!, total: data[v + 2]!, seq: data[v + 3]! };
    i = v + len;
  }
  if (concat && (concat.total === 0 || concat.seq === 0 || concat.seq > concat.total)) concat = undefined;
  return { concat, payload: data.subarray(end), udh: data.subarray(0, end) };
}
