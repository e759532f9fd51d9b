/**
 * Hand-written encoders/decoders for the four PDUs that make up nearly all traffic: submit_sm,
 * submit_sm_resp, deliver_sm and deliver_sm_resp. bench:smpp showed the `smpp` library spending
 * ~12 µs per submit_sm in its generic encoder (object walk, filters) and a third of the client's
 * CPU in PDU handling; these are byte-identical to the library (test/unit/fast-codec.test.ts uses
 * it as the oracle) and, unlike it, bounds-check every field and TLV.
 */
import { SmppProtocolError } from '../errors/app-error.ts';
import { STATUS } from './command-status.ts';
import type { InboundPdu } from './inbound.ts';
import { COMMAND_ID, HEADER_LENGTH } from './pdu-codec.ts';
import type { SubmitFields } from './session-types.ts';

const TAG = {
  receipted_message_id: 0x001e,
  sar_msg_ref_num: 0x020c,
  sar_total_segments: 0x020e,
  sar_segment_seqnum: 0x020f,
  network_error_code: 0x0423,
  message_payload: 0x0424,
  message_state: 0x0427,
} as const;

/** Encodes submit_sm exactly as `new PDU('submit_sm', …).toBuffer()` would for these fields. */
export function encodeSubmitSm(seq: number, f: SubmitFields): Buffer {
  const sm = f.shortMessage;
  if (sm.length > 254)
    throw new SmppProtocolError(`short_message of ${sm.length} octets; use message_payload above 254`);
  const payload = f.messagePayload;
  const len =
    HEADER_LENGTH +
    f.serviceType.length +
    1 +
    2 +
    f.sourceAddr.length +
    1 +
    2 +
    f.destinationAddr.length +
    1 +
    3 +
    1 +
    f.validityPeriod.length +
    1 +
    5 +
    sm.length +
    (payload ? 4 + payload.length : 0);
  const b = Buffer.allocUnsafe(len);
  b.writeUInt32BE(len, 0);
  b.writeUInt32BE(COMMAND_ID.submit_sm, 4);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(seq >>> 0, 12);
  let o = HEADER_LENGTH;
  o += b.write(f.serviceType, o, 'latin1');
  b[o++] = 0;
  b[o++] = f.sourceAddrTon;
  b[o++] = f.sourceAddrNpi;
  o += b.write(f.sourceAddr, o, 'latin1');
  b[o++] = 0;
  b[o++] = f.destAddrTon;
  b[o++] = f.destAddrNpi;
  o += b.write(f.destinationAddr, o, 'latin1');
  b[o++] = 0;
  b[o++] = f.esmClass;
  b[o++] = f.protocolId;
  b[o++] = f.priorityFlag;
  b[o++] = 0; // schedule_delivery_time: immediate
  o += b.write(f.validityPeriod, o, 'latin1');
  b[o++] = 0;
  b[o++] = f.registeredDelivery;
  b[o++] = 0; // replace_if_present_flag
  b[o++] = f.dataCoding;
  b[o++] = 0; // sm_default_msg_id
  b[o++] = sm.length;
  o += sm.copy(b, o);
  if (payload) {
    b.writeUInt16BE(TAG.message_payload, o);
    b.writeUInt16BE(payload.length, o + 2);
    o += 4;
    o += payload.copy(b, o);
  }
  if (o !== len)
    throw new SmppProtocolError(`submit_sm length mismatch (${o} != ${len}): non-latin1 address?`);
  return b;
}

/** deliver_sm_resp / data_sm_resp: empty message_id when OK, header only on error (as the library does). */
export function encodeInboundResp(commandId: number, seq: number, status: number): Buffer {
  const len = status === 0 ? HEADER_LENGTH + 1 : HEADER_LENGTH;
  const b = Buffer.allocUnsafe(len);
  b.writeUInt32BE(len, 0);
  b.writeUInt32BE(commandId >>> 0, 4);
  b.writeUInt32BE(status >>> 0, 8);
  b.writeUInt32BE(seq >>> 0, 12);
  if (status === 0) b[16] = 0;
  return b;
}

/** message_id of a submit_sm_resp frame ('' when absent, as on error responses). */
export function decodeSubmitSmRespId(frame: Buffer): string {
  if (frame.length <= HEADER_LENGTH) return '';
  let end = HEADER_LENGTH;
  while (end < frame.length && frame[end] !== 0) end++;
  return frame.toString('latin1', HEADER_LENGTH, end);
}

class Reader {
  o = HEADER_LENGTH;
  constructor(private readonly b: Buffer) {}
  u8(field: string): number {
    if (this.o >= this.b.length)
      throw new SmppProtocolError(`deliver_sm ends before ${field}`, undefined, STATUS.ESME_RINVCMDLEN);
    return this.b[this.o++]!;
  }
  cstring(field: string, max: number): string {
    const start = this.o;
    const limit = Math.min(this.b.length, start + max);
    let end = start;
    while (end < limit && this.b[end] !== 0) end++;
    if (end >= limit)
      throw new SmppProtocolError(
        `deliver_sm ${field} is not NUL-terminated within ${max} octets`,
        undefined,
        STATUS.ESME_RINVCMDLEN,
      );
    this.o = end + 1;
    return this.b.toString('latin1', start, end);
  }
}

/**
 * Decodes a deliver_sm frame into the fields inbound handling reads. Throws SmppProtocolError on a
 * truncated field or a TLV running past command_length (the library would read past it silently);
 * its `commandStatus` is what to answer: the frame itself is intact, so the session survives.
 */
export function decodeDeliverSm(frame: Buffer): InboundPdu {
  const r = new Reader(frame);
  r.cstring('service_type', 6);
  const sourceAddrTon = r.u8('source_addr_ton');
  const sourceAddrNpi = r.u8('source_addr_npi');
  const sourceAddr = r.cstring('source_addr', 65);
  const destAddrTon = r.u8('dest_addr_ton');
  const destAddrNpi = r.u8('dest_addr_npi');
  const destinationAddr = r.cstring('destination_addr', 65);
  const esmClass = r.u8('esm_class');
  r.u8('protocol_id');
  r.u8('priority_flag');
  r.cstring('schedule_delivery_time', 17);
  r.cstring('validity_period', 17);
  r.u8('registered_delivery');
  r.u8('replace_if_present_flag');
  const dataCoding = r.u8('data_coding');
  r.u8('sm_default_msg_id');
  const smLength = r.u8('sm_length');
  if (r.o + smLength > frame.length)
    throw new SmppProtocolError(
      'deliver_sm short_message runs past the PDU',
      undefined,
      STATUS.ESME_RINVMSGLEN,
    );
  const shortMessage = frame.subarray(r.o, r.o + smLength);
  let o = r.o + smLength;
  const pdu: InboundPdu = {
    sourceAddr,
    sourceAddrTon,
    sourceAddrNpi,
    destinationAddr,
    destAddrTon,
    destAddrNpi,
    esmClass,
    dataCoding,
    shortMessage,
  };
  while (o + 4 <= frame.length) {
    const tag = frame.readUInt16BE(o);
    const len = frame.readUInt16BE(o + 2);
    const v = o + 4;
    if (v + len > frame.length)
      throw new SmppProtocolError(
        `TLV 0x${tag.toString(16)} runs past the PDU`,
        undefined,
        STATUS.ESME_RINVPARLEN,
      );
    switch (tag) {
      case TAG.receipted_message_id: {
        let end = v;
        while (end < v + len && frame[end] !== 0) end++;
        pdu.receiptedMessageId = frame.toString('latin1', v, end);
        break;
      }
      case TAG.message_state:
        if (len >= 1) pdu.messageState = frame[v];
        break;
      case TAG.network_error_code:
        pdu.networkErrorCode = frame.subarray(v, v + len);
        break;
      case TAG.message_payload:
        pdu.messagePayload = frame.subarray(v, v + len);
        break;
      case TAG.sar_msg_ref_num:
        if (len >= 2) pdu.sarMsgRefNum = frame.readUInt16BE(v);
        break;
      case TAG.sar_total_segments:
        if (len >= 1) pdu.sarTotalSegments = frame[v];
        break;
      case TAG.sar_segment_seqnum:
        if (len >= 1) pdu.sarSegmentSeqnum = frame[v];
        break;
      default:
        break;
    }
    o = v + len;
  }
  if (o !== frame.length)
    throw new SmppProtocolError(
      'trailing octets after the last TLV',
      undefined,
      STATUS.ESME_RINVOPTPARSTREAM,
    );
  return pdu;
}
