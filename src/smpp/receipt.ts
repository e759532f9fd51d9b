/** Final and intermediate receipt states, named as in SMPP 3.4 §5.2.28 (message_state). */
export type ReceiptState =
  | 'ENROUTE'
  | 'DELIVERED'
  | 'EXPIRED'
  | 'DELETED'
  | 'UNDELIVERABLE'
  | 'ACCEPTED'
  | 'UNKNOWN'
  | 'REJECTED'
  | 'SKIPPED';

const STATE_BY_TLV: Record<number, ReceiptState> = {
  1: 'ENROUTE',
  2: 'DELIVERED',
  3: 'EXPIRED',
  4: 'DELETED',
  5: 'UNDELIVERABLE',
  6: 'ACCEPTED',
  7: 'UNKNOWN',
  8: 'REJECTED',
  9: 'SKIPPED',
};

const STATE_BY_STAT: Record<string, ReceiptState> = {
  ENROUTE: 'ENROUTE',
  DELIVRD: 'DELIVERED',
  DELIVERED: 'DELIVERED',
  EXPIRED: 'EXPIRED',
  DELETED: 'DELETED',
  UNDELIV: 'UNDELIVERABLE',
  UNDELIVERABLE: 'UNDELIVERABLE',
  ACCEPTD: 'ACCEPTED',
  ACCEPTED: 'ACCEPTED',
  UNKNOWN: 'UNKNOWN',
  REJECTD: 'REJECTED',
  REJECTED: 'REJECTED',
  SKIPPED: 'SKIPPED',
};

export interface Receipt {
  /** Message id as the SMSC wrote it; match with `messageIdKeys`. */
  messageId: string;
  state: ReceiptState;
  /**
   * Carrier error code, the same whether it came as `err:042` in the text or as the
   * network_error_code TLV (its error code part): decimal without leading zeros, e.g. `42`.
   */
  errorCode: string | undefined;
  /** network_error_code's network type (1 ANSI-136, 2 IS-95, 3 GSM, ...) when the TLV came. */
  errorNetworkType: number | undefined;
  submitted: number | undefined;
  delivered: number | undefined;
  submitDate: Date | undefined;
  doneDate: Date | undefined;
  text: string | undefined;
}

/** TLVs of a deliver_sm that bear on a receipt; all optional. */
export interface ReceiptTlvs {
  receiptedMessageId?: string | undefined;
  messageState?: number | undefined;
  networkErrorCode?: Uint8Array | undefined;
}

const KEYS = ['id', 'sub', 'dlvrd', 'submit date', 'done date', 'stat', 'err', 'text'] as const;
type Key = (typeof KEYS)[number];
const KEY_RE = /\b(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err|text)\s*:/gi;

/** Reads the key:value fields of a receipt text, in any order and case. */
export function parseReceiptFields(text: string): Partial<Record<Key, string>> {
  const marks: Array<{ key: Key; start: number; valueStart: number }> = [];
  KEY_RE.lastIndex = 0;
  for (let m = KEY_RE.exec(text); m; m = KEY_RE.exec(text)) {
    const key = m[1]!.toLowerCase().replace('_', ' ') as Key;
    marks.push({ key, start: m.index, valueStart: m.index + m[0].length });
    // Once `text:` has started, anything after it is message text (it may contain "stat:").
    if (key === 'text') break;
  }
  const out: Partial<Record<Key, string>> = {};
  for (let i = 0; i < marks.length; i++) {
    const mark = marks[i]!;
    // A repeated key still ends the value before it, but the first occurrence is the one kept.
    if (out[mark.key] !== undefined) continue;
    const end = i + 1 < marks.length ? marks[i + 1]!.start : text.length;
    const raw = text.slice(mark.valueStart, end);
    out[mark.key] = mark.key === 'text' ? raw.replace(/^ /, '') : raw.trim();
  }
  return out;
}

/** Parses a receipt date YYMMDDhhmm or YYMMDDhhmmss as UTC; undefined when malformed. */
export function parseReceiptDate(s: string | undefined): Date | undefined {
  if (!s || !/^\d{10}(\d{2})?$/.test(s)) return undefined;
  const n = (a: number, b: number) => Number(s.slice(a, b));
  const [yy, mo, dd, hh, mi] = [n(0, 2), n(2, 4), n(4, 6), n(6, 8), n(8, 10)];
  const ss = s.length === 12 ? n(10, 12) : 0;
  if (mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mi > 59 || ss > 59) return undefined;
  return new Date(Date.UTC(2000 + yy, mo - 1, dd, hh, mi, ss));
}

/** `err:` of a receipt text: decimal digits lose their leading zeros; anything else is kept, upper-cased. */
export function normalizeErrorCode(err: string | undefined): string | undefined {
  if (err === undefined) return undefined;
  const t = err.trim();
  if (t === '') return undefined;
  return /^[0-9]+$/.test(t) ? String(Number.parseInt(t, 10)) : t.toUpperCase();
}

function toInt(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d+$/.test(s)) return undefined;
  return Number(s);
}

/**
 * Builds a receipt from deliver_sm text and TLVs. TLVs win over the text where both exist.
 * Returns undefined when neither carries a message id or a state (not a receipt we can use);
 * the caller counts and logs that, it never throws.
 */
export function parseReceipt(text: string, tlvs: ReceiptTlvs = {}): Receipt | undefined {
  const f = parseReceiptFields(text);
  // C-string NULs first, then spaces: an id padded either way is the same id.
  const clean = (id: string | undefined) => id?.replace(/\0+$/, '').trim();
  const messageId = clean(tlvs.receiptedMessageId) || clean(f.id) || '';
  const tlvState = tlvs.messageState === undefined ? undefined : STATE_BY_TLV[tlvs.messageState];
  const textState = f.stat ? STATE_BY_STAT[f.stat.toUpperCase()] : undefined;
  const state = tlvState ?? textState ?? (f.stat ? 'UNKNOWN' : undefined);
  if (!messageId || !state) return undefined;
  let errorCode = normalizeErrorCode(f.err);
  let errorNetworkType: number | undefined;
  const nec = tlvs.networkErrorCode;
  if (nec && nec.length >= 3) {
    errorCode = String((nec[1]! << 8) | nec[2]!);
    errorNetworkType = nec[0];
  }
  return {
    messageId,
    state,
    errorCode,
    errorNetworkType,
    submitted: toInt(f.sub),
    delivered: toInt(f.dlvrd),
    submitDate: parseReceiptDate(f['submit date']),
    doneDate: parseReceiptDate(f['done date']),
    text: f.text,
  };
}
