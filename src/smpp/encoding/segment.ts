import { encodeGsm7, gsmSeptetCost, nonGsmCharacters } from './gsm7.ts';

export type TextEncoding = 'gsm7' | 'latin1' | 'ucs2';

export const DATA_CODING = { SMSC_DEFAULT: 0x00, IA5: 0x01, LATIN1: 0x03, UCS2: 0x08 } as const;

export interface EncodeOptions {
  /** data_coding used for GSM-7 text: 0x00 (SMSC default) or 0x01 (IA5), per carrier. */
  gsmDataCoding?: 0x00 | 0x01;
  /** Prefer Latin-1 (data_coding 0x03) over UCS-2 when every character fits in ISO-8859-1. */
  allowLatin1?: boolean;
  /** Concatenation information element: 8-bit reference (IEI 0x00) or 16-bit (IEI 0x08). */
  concatRef?: '8bit' | '16bit';
  /** `udh`: one short_message per segment; `payload`: the whole text in one message_payload TLV. */
  mode?: 'udh' | 'payload';
  /** Concatenation reference number; the caller keeps a counter per destination or bind. */
  referenceNumber?: number;
}

export interface EncodedPart {
  /** Octets for short_message (UDH included), or for message_payload in payload mode. */
  bytes: Buffer;
  /** The text this part carries, for logs and dry-runs. */
  text: string;
}

export interface EncodedMessage {
  encoding: TextEncoding;
  dataCoding: number;
  /** Billable segments: what the handset receives, also in payload mode. */
  segmentCount: number;
  /** esm_class must carry UDHI (0x40) for these parts. */
  udhi: boolean;
  /** Parts to submit: one per segment in `udh` mode, exactly one in `payload` mode. */
  parts: EncodedPart[];
  /** Characters that kept the text out of GSM-7. */
  nonGsmCharacters: string[];
}

const LIMITS = {
  // [single-part capacity, capacity per part with 8-bit ref UDH, with 16-bit ref UDH]
  gsm7: [160, 153, 152],
  latin1: [140, 134, 133],
  ucs2: [70, 67, 66],
} as const satisfies Record<TextEncoding, readonly [number, number, number]>;

function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}

/** The encoding `text` needs under `opts`: GSM-7 when it can, else Latin-1 when allowed, else UCS-2. */
export function chooseEncoding(text: string, opts: EncodeOptions = {}): TextEncoding {
  let gsm = true;
  for (let i = 0; i < text.length; i++) {
    if (gsmSeptetCost(text.charCodeAt(i)) === 0) {
      gsm = false;
      break;
    }
  }
  if (gsm) return 'gsm7';
  if (opts.allowLatin1 && isLatin1(text)) return 'latin1';
  return 'ucs2';
}

/** Cost of the unit starting at index i and its width in UTF-16 code units. */
function unitAt(text: string, i: number, encoding: TextEncoding): [cost: number, width: number] {
  const cu = text.charCodeAt(i);
  if (encoding === 'gsm7') return [gsmSeptetCost(cu), 1];
  if (encoding === 'latin1') return [1, 1];
  // UCS-2 on the wire is UTF-16BE: a surrogate pair is two units and must stay in one part.
  const isHigh = cu >= 0xd800 && cu <= 0xdbff;
  return isHigh && i + 1 < text.length ? [2, 2] : [1, 1];
}

function measure(text: string, encoding: TextEncoding): number {
  let n = 0;
  for (let i = 0; i < text.length; ) {
    const [c, w] = unitAt(text, i, encoding);
    n += c;
    i += w;
  }
  return n;
}

/** Splits text into pieces of at most `cap` units, never inside an escape or a surrogate pair. */
function split(text: string, encoding: TextEncoding, cap: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  let used = 0;
  for (let i = 0; i < text.length; ) {
    const [c, w] = unitAt(text, i, encoding);
    if (used + c > cap) {
      pieces.push(text.slice(start, i));
      start = i;
      used = 0;
    }
    used += c;
    i += w;
  }
  if (start < text.length || pieces.length === 0) pieces.push(text.slice(start));
  return pieces;
}

function encodeBytes(text: string, encoding: TextEncoding): Buffer {
  if (encoding === 'gsm7') return encodeGsm7(text);
  if (encoding === 'latin1') return Buffer.from(text, 'latin1');
  const b = Buffer.from(text, 'utf16le');
  return b.swap16();
}

function udh(ref: number, total: number, seq: number, wide: boolean): Buffer {
  return wide
    ? Buffer.from([0x06, 0x08, 0x04, (ref >> 8) & 0xff, ref & 0xff, total, seq])
    : Buffer.from([0x05, 0x00, 0x03, ref & 0xff, total, seq]);
}

/**
 * Encodes and segments `text` for submit_sm. Pure; the result is also the dry-run answer.
 * Throws a RangeError only when the text needs more than 255 segments (the UDH limit);
 * callers should reject such a body as a 4xx before it is accepted.
 */
export function encodeMessage(text: string, opts: EncodeOptions = {}): EncodedMessage {
  const encoding = chooseEncoding(text, opts);
  const dataCoding =
    encoding === 'gsm7'
      ? (opts.gsmDataCoding ?? DATA_CODING.SMSC_DEFAULT)
      : encoding === 'latin1'
        ? DATA_CODING.LATIN1
        : DATA_CODING.UCS2;
  const wide = opts.concatRef === '16bit';
  const [single, multi8, multi16] = LIMITS[encoding];
  const total = measure(text, encoding);
  const pieces = total <= single ? [text] : split(text, encoding, wide ? multi16 : multi8);
  if (pieces.length > 255)
    throw new RangeError(`text needs ${pieces.length} segments; at most 255 fit a UDH`);
  const nonGsm = encoding === 'gsm7' ? [] : nonGsmCharacters(text);

  if (opts.mode === 'payload') {
    return {
      encoding,
      dataCoding,
      segmentCount: pieces.length,
      udhi: false,
      parts: [{ bytes: encodeBytes(text, encoding), text }],
      nonGsmCharacters: nonGsm,
    };
  }
  if (pieces.length === 1) {
    return {
      encoding,
      dataCoding,
      segmentCount: 1,
      udhi: false,
      parts: [{ bytes: encodeBytes(text, encoding), text }],
      nonGsmCharacters: nonGsm,
    };
  }
  const ref = (opts.referenceNumber ?? 0) & (wide ? 0xffff : 0xff);
  const parts = pieces.map((piece, i) => ({
    bytes: Buffer.concat([udh(ref, pieces.length, i + 1, wide), encodeBytes(piece, encoding)]),
    text: piece,
  }));
  return { encoding, dataCoding, segmentCount: pieces.length, udhi: true, parts, nonGsmCharacters: nonGsm };
}
