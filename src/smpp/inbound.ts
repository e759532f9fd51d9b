import { type Alphabet, alphabetOf, decodeText, splitUdh } from './encoding/decode.ts';
import { parseReceipt, type Receipt } from './receipt.ts';

/** The fields of a deliver_sm (or data_sm) that inbound handling reads; adapters fill it from the PDU. */
export interface InboundPdu {
  sourceAddr: string;
  sourceAddrTon: number;
  sourceAddrNpi?: number | undefined;
  destinationAddr: string;
  destAddrTon: number;
  destAddrNpi?: number | undefined;
  esmClass: number;
  dataCoding: number;
  shortMessage: Buffer;
  messagePayload?: Buffer | undefined;
  receiptedMessageId?: string | undefined;
  messageState?: number | undefined;
  networkErrorCode?: Buffer | undefined;
  sarMsgRefNum?: number | undefined;
  sarTotalSegments?: number | undefined;
  sarSegmentSeqnum?: number | undefined;
}

/** An SMPP address as it came: digits (or letters) with its type of number and numbering plan. */
export interface SmppAddress {
  addr: string;
  ton: number;
  npi: number;
}

/** Concatenation information that passed validation: 2 ≤ total ≤ 255, 1 ≤ seq ≤ total. */
export interface ConcatInfo {
  ref: number;
  total: number;
  seq: number;
  source: 'udh' | 'sar';
}

export interface MoPart {
  from: SmppAddress;
  to: SmppAddress;
  dataCoding: number;
  alphabet: Alphabet;
  /** Decoded text of this part (may contain U+0000 or lone surrogates: it is the sender's). */
  text: string;
  /** The user data octets without UDH, exactly as received. */
  raw: Buffer;
  concat: ConcatInfo | undefined;
}

export type Inbound =
  | { kind: 'receipt'; receipt: Receipt }
  | { kind: 'mo'; part: MoPart }
  | { kind: 'invalid-receipt'; text: string };

const ESM_MESSAGE_TYPE = 0x3c;
const ESM_UDHI = 0x40;

/**
 * True for an SMSC delivery receipt, SME acknowledgement or intermediate notification
 * (esm_class message-type bits, SMPP 3.4 §5.2.12); false for a mobile-originated message.
 */
export function isReceipt(esmClass: number): boolean {
  const t = esmClass & ESM_MESSAGE_TYPE;
  return t === 0x04 || t === 0x08 || t === 0x10 || t === 0x20;
}

/** Concatenation info only when it is usable; anything else (seq 0, seq > total, total < 2) is a lone message. */
export function validConcat(
  ref: number,
  total: number,
  seq: number,
  source: ConcatInfo['source'],
): ConcatInfo | undefined {
  if (!Number.isInteger(total) || !Number.isInteger(seq) || !Number.isInteger(ref)) return undefined;
  if (total < 2 || total > 255 || seq < 1 || seq > total) return undefined;
  return { ref, total, seq, source };
}

/**
 * Classifies and decodes one inbound PDU. Pure and total: a receipt whose text and TLVs carry no
 * id or state becomes `invalid-receipt` (count it, answer OK so the SMSC stops resending).
 */
export function interpretInbound(pdu: InboundPdu): Inbound {
  const body = pdu.messagePayload && pdu.messagePayload.length > 0 ? pdu.messagePayload : pdu.shortMessage;
  if (isReceipt(pdu.esmClass)) {
    const text = body.toString('latin1');
    const receipt = parseReceipt(text, {
      receiptedMessageId: pdu.receiptedMessageId,
      messageState: pdu.messageState,
      networkErrorCode: pdu.networkErrorCode,
    });
    return receipt ? { kind: 'receipt', receipt } : { kind: 'invalid-receipt', text };
  }
  let data = body;
  let concat: ConcatInfo | undefined;
  if (pdu.esmClass & ESM_UDHI) {
    const split = splitUdh(body);
    data = split.payload;
    if (split.concat) concat = validConcat(split.concat.ref, split.concat.total, split.concat.seq, 'udh');
  }
  if (
    !concat &&
    pdu.sarMsgRefNum !== undefined &&
    pdu.sarTotalSegments !== undefined &&
    pdu.sarSegmentSeqnum !== undefined
  ) {
    concat = validConcat(pdu.sarMsgRefNum, pdu.sarTotalSegments, pdu.sarSegmentSeqnum, 'sar');
  }
  const { text, alphabet } = decodeText(data, pdu.dataCoding);
  return {
    kind: 'mo',
    part: {
      from: { addr: pdu.sourceAddr, ton: pdu.sourceAddrTon, npi: pdu.sourceAddrNpi ?? 0 },
      to: { addr: pdu.destinationAddr, ton: pdu.destAddrTon, npi: pdu.destAddrNpi ?? 0 },
      dataCoding: pdu.dataCoding,
      alphabet,
      text,
      raw: Buffer.from(data),
      concat,
    },
  };
}

/** Marker put where a part never arrived, so a partial message is still delivered, never dropped. */
export const MISSING_PART = '[…]';

/** A stored part of a concatenated MO, as reassembly reads it back. */
export interface StoredMoPart {
  seq: number;
  dataCoding: number;
  text: string;
  raw: Buffer;
}

/**
 * Joins the parts of one concatenated MO in sequence order, putting MISSING_PART where a part is
 * absent. When every part is UCS-2, the octets are joined before decoding, so a character split
 * across two parts (a surrogate pair) comes out whole. Duplicates of a seq count once. Pure.
 */
export function joinMoParts(
  total: number,
  parts: readonly StoredMoPart[],
): { text: string; raw: Buffer; complete: boolean; received: number } {
  const bySeq = new Map<number, StoredMoPart>();
  for (const p of parts) if (p.seq >= 1 && p.seq <= total && !bySeq.has(p.seq)) bySeq.set(p.seq, p);
  const ordered = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  const complete = bySeq.size === total;
  const raw = Buffer.concat(ordered.map((p) => p.raw));
  if (complete && ordered.every((p) => alphabetOf(p.dataCoding) === 'ucs2')) {
    return { text: decodeText(raw, 0x08).text, raw, complete, received: bySeq.size };
  }
  let text = '';
  for (let seq = 1; seq <= total; seq++) text += bySeq.get(seq)?.text ?? MISSING_PART;
  return { text, raw, complete, received: bySeq.size };
}
