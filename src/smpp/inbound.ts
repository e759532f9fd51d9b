import { type Alphabet, decodeText, splitUdh } from './encoding/decode.ts';
import { parseReceipt, type Receipt } from './receipt.ts';

/** The fields of a deliver_sm (or data_sm) that inbound handling reads; adapters fill it from the PDU. */
export interface InboundPdu {
  sourceAddr: string;
  sourceAddrTon: number;
  destinationAddr: string;
  destAddrTon: number;
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

export interface MoPart {
  from: string;
  to: string;
  dataCoding: number;
  alphabet: Alphabet;
  text: string;
  /** Present when this is one part of a concatenated message. */
  concat: { ref: number; total: number; seq: number; source: 'udh' | 'sar' } | undefined;
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

function withPlus(addr: string, ton: number): string {
  return ton === 1 && addr && !addr.startsWith('+') ? `+${addr}` : addr;
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
  let concat: MoPart['concat'];
  if (pdu.esmClass & ESM_UDHI) {
    const split = splitUdh(body);
    data = split.payload;
    if (split.concat) concat = { ...split.concat, source: 'udh' };
  }
  if (
    !concat &&
    pdu.sarMsgRefNum !== undefined &&
    pdu.sarTotalSegments !== undefined &&
    pdu.sarSegmentSeqnum !== undefined &&
    pdu.sarTotalSegments > 1
  ) {
    concat = { ref: pdu.sarMsgRefNum, total: pdu.sarTotalSegments, seq: pdu.sarSegmentSeqnum, source: 'sar' };
  }
  const { text, alphabet } = decodeText(data, pdu.dataCoding);
  return {
    kind: 'mo',
    part: {
      from: withPlus(pdu.sourceAddr, pdu.sourceAddrTon),
      to: withPlus(pdu.destinationAddr, pdu.destAddrTon),
      dataCoding: pdu.dataCoding,
      alphabet,
      text,
      concat,
    },
  };
}

export interface MoMessage {
  from: string;
  to: string;
  text: string;
  alphabet: Alphabet;
  segments: number;
  /** False when the reassembly timed out and missing parts were replaced by a marker. */
  complete: boolean;
}

interface Pending {
  parts: Array<MoPart | undefined>;
  received: number;
  firstAt: number;
}

/** Marker put where a part never arrived, so a partial message is still delivered, never dropped. */
export const MISSING_PART = '[…]';

/**
 * Reassembles concatenated MO parts keyed by (from, to, ref, total). Pure apart from the clock
 * value passed in; call `expire(now)` periodically to flush groups older than `timeoutMs` as
 * incomplete messages. Duplicate parts are ignored.
 */
export class MoReassembler {
  private readonly pending = new Map<string, Pending>();
  constructor(private readonly timeoutMs = 60_000) {}

  get size(): number {
    return this.pending.size;
  }

  /** Adds a part; returns the whole message when this part completes it (or it was not split). */
  add(part: MoPart, now: number): MoMessage | undefined {
    const c = part.concat;
    if (!c || c.total <= 1) {
      return {
        from: part.from,
        to: part.to,
        text: part.text,
        alphabet: part.alphabet,
        segments: 1,
        complete: true,
      };
    }
    const key = `${part.from}\u0000${part.to}\u0000${c.ref}\u0000${c.total}`;
    let p = this.pending.get(key);
    if (!p) {
      p = { parts: new Array(c.total).fill(undefined), received: 0, firstAt: now };
      this.pending.set(key, p);
    }
    if (p.parts[c.seq - 1] !== undefined) return undefined;
    p.parts[c.seq - 1] = part;
    p.received++;
    if (p.received < c.total) return undefined;
    this.pending.delete(key);
    return this.join(p, true);
  }

  /** Removes and returns groups whose first part is older than the timeout. */
  expire(now: number): MoMessage[] {
    const out: MoMessage[] = [];
    for (const [key, p] of this.pending) {
      if (now - p.firstAt < this.timeoutMs) continue;
      this.pending.delete(key);
      out.push(this.join(p, false));
    }
    return out;
  }

  private join(p: Pending, complete: boolean): MoMessage {
    const first = p.parts.find((x) => x !== undefined)!;
    return {
      from: first.from,
      to: first.to,
      text: p.parts.map((x) => (x ? x.text : MISSING_PART)).join(''),
      alphabet: first.alphabet,
      segments: p.parts.length,
      complete,
    };
  }
}
