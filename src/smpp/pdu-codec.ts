/**
 * The only module that imports `smpp`. We keep the library for its PDU definitions and its
 * encoder/decoder, and take from it everything that makes it unsafe on a carrier link: its text
 * filters (GSM sent as '@', `data_coding & 0x0F`, lossy decode) and its time filters (throw on
 * malformed values) are removed, so short_message and message_payload travel as raw octets and
 * our own pure encoding modules own the text. Every call is wrapped: a library exception becomes
 * an SmppProtocolError for the session to act on.
 */
import smpp from 'smpp';
import { SmppProtocolError } from '../errors/app-error.ts';
import type { InboundPdu } from './inbound.ts';

for (const def of Object.values(smpp.commands)) {
  for (const [name, param] of Object.entries(def.params ?? {})) {
    if (
      name === 'short_message' ||
      name === 'schedule_delivery_time' ||
      name === 'validity_period' ||
      name === 'final_date'
    ) {
      delete param.filter;
    }
  }
}
for (const tlv of Object.values(smpp.tlvs)) delete tlv.filter;

/** Largest PDU we accept from a peer; the library's own cap. */
export const MAX_PDU_LENGTH = smpp.PDU.maxLength;
export const HEADER_LENGTH = 16;

export const COMMAND_ID = {
  generic_nack: 0x80000000,
  bind_receiver: 0x00000001,
  bind_receiver_resp: 0x80000001,
  bind_transmitter: 0x00000002,
  bind_transmitter_resp: 0x80000002,
  submit_sm: 0x00000004,
  submit_sm_resp: 0x80000004,
  deliver_sm: 0x00000005,
  deliver_sm_resp: 0x80000005,
  unbind: 0x00000006,
  unbind_resp: 0x80000006,
  bind_transceiver: 0x00000009,
  bind_transceiver_resp: 0x80000009,
  enquire_link: 0x00000015,
  enquire_link_resp: 0x80000015,
  data_sm: 0x00000103,
  data_sm_resp: 0x80000103,
} as const;

/** A decoded PDU: header plus the library's named fields (TLVs by name; unknown TLVs by tag number). */
export interface Pdu {
  command: string;
  commandId: number;
  commandStatus: number;
  sequenceNumber: number;
  fields: Record<string, unknown>;
}

/**
 * Encodes a PDU. `fields` must hold only defined values of the right type (the library throws on
 * undefined and on a short_message over 254 octets); a throw here is a programming error in the
 * caller, surfaced as SmppProtocolError so that no socket is left half-written.
 */
export function encodePdu(
  command: string,
  sequenceNumber: number,
  fields: Record<string, unknown> = {},
  commandStatus = 0,
): Buffer {
  try {
    const pdu = new smpp.PDU(command, {
      ...fields,
      sequence_number: sequenceNumber,
      command_status: commandStatus,
    });
    return pdu.toBuffer();
  } catch (err) {
    throw new SmppProtocolError(`cannot encode ${command}: ${(err as Error).message}`, err);
  }
}

const HEADER_KEYS = new Set(['command', 'command_id', 'command_status', 'command_length', 'sequence_number']);

/**
 * Decodes one complete frame (header included). Unknown command ids decode as command `unknown`
 * (answer with generic_nack ESME_RINVCMDID). Throws SmppProtocolError on a frame the library
 * cannot read; the session must then be destroyed.
 */
export function decodePdu(frame: Buffer): Pdu {
  let pdu: InstanceType<typeof smpp.PDU>;
  try {
    pdu = new smpp.PDU(frame);
  } catch (err) {
    throw new SmppProtocolError(`undecodable PDU: ${(err as Error).message}`, err);
  }
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(pdu)) if (!HEADER_KEYS.has(key)) fields[key] = pdu[key];
  return {
    command: pdu.command,
    commandId: pdu.command_id >>> 0,
    commandStatus: pdu.command_status >>> 0,
    sequenceNumber: pdu.sequence_number >>> 0,
    fields,
  };
}

/** A header-only response (generic_nack, *_resp with an error status) without touching the library. */
export function encodeHeaderOnly(commandId: number, commandStatus: number, sequenceNumber: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER_LENGTH);
  b.writeUInt32BE(HEADER_LENGTH, 0);
  b.writeUInt32BE(commandId >>> 0, 4);
  b.writeUInt32BE(commandStatus >>> 0, 8);
  b.writeUInt32BE(sequenceNumber >>> 0, 12);
  return b;
}

/** Maps library-decoded deliver_sm/data_sm fields to what inbound handling reads. */
export function inboundFromFields(f: Record<string, unknown>): InboundPdu {
  return {
    sourceAddr: String(f.source_addr ?? ''),
    sourceAddrTon: Number(f.source_addr_ton ?? 0),
    sourceAddrNpi: Number(f.source_addr_npi ?? 0),
    destinationAddr: String(f.destination_addr ?? ''),
    destAddrTon: Number(f.dest_addr_ton ?? 0),
    destAddrNpi: Number(f.dest_addr_npi ?? 0),
    esmClass: Number(f.esm_class ?? 0),
    dataCoding: Number(f.data_coding ?? 0),
    shortMessage: Buffer.isBuffer(f.short_message) ? f.short_message : Buffer.alloc(0),
    messagePayload: Buffer.isBuffer(f.message_payload) ? f.message_payload : undefined,
    receiptedMessageId:
      typeof f.receipted_message_id === 'string' ? f.receipted_message_id.replace(/\0+$/, '') : undefined,
    messageState: typeof f.message_state === 'number' ? f.message_state : undefined,
    networkErrorCode: Buffer.isBuffer(f.network_error_code) ? f.network_error_code : undefined,
    sarMsgRefNum: typeof f.sar_msg_ref_num === 'number' ? f.sar_msg_ref_num : undefined,
    sarTotalSegments: typeof f.sar_total_segments === 'number' ? f.sar_total_segments : undefined,
    sarSegmentSeqnum: typeof f.sar_segment_seqnum === 'number' ? f.sar_segment_seqnum : undefined,
  };
}
