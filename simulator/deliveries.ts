/** What the simulator delivers to ESMEs: receipts for stored submits and injected MO messages. */
import { encodeDeliverSm } from './fast-pdu.ts';
import { encode } from './pdu.ts';
import type { ReceiptStat, Scenario } from './scenario.ts';
import { dataCodingFor, decodeBytes, encodeText, type SimEncoding, splitEncoded } from './text.ts';

const MESSAGE_STATE: Record<ReceiptStat, number> = {
  ENROUTE: 1,
  DELIVRD: 2,
  EXPIRED: 3,
  DELETED: 4,
  UNDELIV: 5,
  ACCEPTD: 6,
  UNKNOWN: 7,
  REJECTD: 8,
};

/** A submit as the simulator stored it; text is decoded only when read. */
export interface StoredSubmit {
  id: string;
  systemId: string;
  from: string;
  to: string;
  dataCoding: number;
  esmClass: number;
  registeredDelivery: number;
  raw: Buffer;
  at: number;
  /** The text came in message_payload (short_message empty). */
  viaPayload?: boolean;
}

export interface MoRequest {
  from: string;
  to: string;
  text: string;
  encoding?: SimEncoding;
  segments?: number;
  concat?: 'udh8' | 'udh16' | 'sar' | 'payload';
  systemId?: string;
  /** Type of number of source and destination (default 1, international; 0 unknown, 2 national). */
  sourceTon?: number;
  destTon?: number;
  /** Send only these parts (1-based) of a concatenated message: an incomplete MO. */
  only?: number[];
  /** Concatenation reference (default: the simulator's counter); the same ref resumes a message. */
  ref?: number;
}

/** A deliver_sm whose TLV runs past the end of the PDU (command_length intact): what a buggy SMSC sends. */
export function malformedDeliverPdu(): Buffer {
  const pdu = encodeDeliverSm(0, {
    sourceAddrTon: 1,
    sourceAddrNpi: 1,
    sourceAddr: '15550009999',
    destAddrTon: 1,
    destAddrNpi: 1,
    destinationAddr: '15550000000',
    esmClass: 0x04,
    dataCoding: 0,
    shortMessage: Buffer.from('id:BAD stat:DELIVRD', 'latin1'),
    tlvs: [],
  });
  const bad = Buffer.concat([pdu, Buffer.from([0x04, 0x27, 0x00, 0x0a, 0x02])]);
  bad.writeUInt32BE(bad.length, 0);
  return bad;
}

/** A receipt for an arbitrary id (unknown-id floods and races in tests). */
export function receiptFor(
  id: string,
  stat: ReceiptStat,
  scenario: Scenario,
  from = '15550000001',
  to = '15550000002',
): Buffer {
  return receiptPdu(
    {
      id,
      systemId: '',
      from,
      to,
      dataCoding: 0,
      esmClass: 0,
      registeredDelivery: 1,
      raw: Buffer.alloc(0),
      at: Date.now(),
    },
    stat,
    scenario,
  );
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

let dateCache = { second: -1, text: '' };

function renderId(id: string, scenario: Scenario): string {
  switch (scenario.receipts.idRendering) {
    case 'decimal':
      if (scenario.idFormat === 'base36')
        return [...id.toLowerCase()]
          .reduce((v, c) => v * 36n + BigInt(Number.parseInt(c, 36)), 0n)
          .toString(10);
      return /^[0-9A-F]+$/i.test(id) && scenario.idFormat === 'hex' ? BigInt(`0x${id}`).toString(10) : id;
    case 'leading-zeros':
      return id.padStart(Math.max(id.length + 2, 20), '0');
    case 'uppercase':
      return id.toUpperCase();
    case 'lowercase':
      return id.toLowerCase();
    default:
      return id;
  }
}

function receiptDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateCache.second) {
    const d = new Date(now);
    dateCache = {
      second: s,
      text: `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}`,
    };
  }
  return dateCache.text;
}

/** The deliver_sm receipt for a stored submit, in the scenario's format and id rendering. */
export function receiptPdu(m: StoredSubmit, stat: ReceiptStat, scenario: Scenario): Buffer {
  const r = scenario.receipts;
  const rid = renderId(m.id, scenario);
  const err = stat === 'DELIVRD' ? 0 : (r.errorCodes[stat] ?? 0);
  let shortMessage = Buffer.alloc(0);
  if (r.format !== 'tlv') {
    let body = m.raw;
    if (m.esmClass & 0x40 && body.length > 0) body = body.subarray(1 + body[0]!);
    const text = decodeBytes(body.subarray(0, 20), m.dataCoding)
      .slice(0, 20)
      .replace(/[^\x20-\x7e]/g, '.');
    const date = receiptDate();
    shortMessage = Buffer.from(
      `id:${rid} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} submit date:${date} done date:${date} stat:${stat} err:${String(err).padStart(3, '0')} text:${text}`,
      'latin1',
    );
  }
  const tlvs: Array<[number, Buffer]> = [];
  if (r.format !== 'text') {
    tlvs.push([0x001e, Buffer.from(`${rid}\0`, 'latin1')], [0x0427, Buffer.from([MESSAGE_STATE[stat]])]);
    if (err) tlvs.push([0x0423, Buffer.from([3, (err >> 8) & 0xff, err & 0xff])]);
  }
  return encodeDeliverSm(0, {
    sourceAddrTon: 1,
    sourceAddrNpi: 1,
    sourceAddr: m.to,
    destAddrTon: 1,
    destAddrNpi: 1,
    destinationAddr: m.from,
    esmClass: 0x04,
    dataCoding: 0,
    shortMessage,
    tlvs,
  });
}

/** deliver_sm PDUs (sequence 0, set when sent) for an MO: one, or concatenated by UDH, SAR or message_payload. */
export function moPdus(req: MoRequest, ref: number): Buffer[] {
  const enc = req.encoding ?? 'gsm7';
  const data = encodeText(req.text, enc);
  if (!data) throw new Error(`text cannot be encoded as ${enc}`);
  const n = Math.max(1, Math.min(255, req.segments ?? 1));
  const base = {
    source_addr_ton: req.sourceTon ?? 1,
    source_addr_npi: 1,
    source_addr: req.from.replace(/^\+/, ''),
    dest_addr_ton: req.destTon ?? 1,
    dest_addr_npi: 1,
    destination_addr: req.to.replace(/^\+/, ''),
    data_coding: dataCodingFor(enc),
  };
  if (req.concat === 'payload' || (n === 1 && data.length > 254)) {
    return [
      encode('deliver_sm', 0, {
        ...base,
        esm_class: 0,
        short_message: Buffer.alloc(0),
        message_payload: data,
      }),
    ];
  }
  const parts = n === 1 ? [data] : splitEncoded(data, enc, n);
  const pdus = parts.map((p, i) => {
    const fields: Record<string, unknown> = { ...base, esm_class: 0, short_message: p };
    if (parts.length > 1) {
      if (req.concat === 'sar') {
        fields.sar_msg_ref_num = ref;
        fields.sar_total_segments = parts.length;
        fields.sar_segment_seqnum = i + 1;
      } else {
        const udh =
          req.concat === 'udh16'
            ? Buffer.from([6, 8, 4, ref >> 8, ref & 0xff, parts.length, i + 1])
            : Buffer.from([5, 0, 3, ref & 0xff, parts.length, i + 1]);
        fields.esm_class = 0x40;
        fields.short_message = Buffer.concat([udh, p]);
      }
    }
    return encode('deliver_sm', 0, fields);
  });
  return req.only ? pdus.filter((_, i) => req.only!.includes(i + 1)) : pdus;
}
