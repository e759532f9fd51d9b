import { describe, expect, it } from 'vitest';
import { SmppProtocolError } from '../../src/errors/app-error.ts';
import {
  decodeDeliverSm,
  decodeSubmitSmRespId,
  encodeInboundResp,
  encodeSubmitSm,
} from '../../src/smpp/fast-codec.ts';
import { COMMAND_ID, decodePdu, encodePdu, inboundFromFields } from '../../src/smpp/pdu-codec.ts';
import type { SubmitFields } from '../../src/smpp/session-types.ts';
import { fields } from '../helpers/smpp.ts';

const base: SubmitFields = fields('15551230000', 'hello');

function viaLibrary(seq: number, f: SubmitFields): Buffer {
  const fields: Record<string, unknown> = {
    service_type: f.serviceType,
    source_addr_ton: f.sourceAddrTon,
    source_addr_npi: f.sourceAddrNpi,
    source_addr: f.sourceAddr,
    dest_addr_ton: f.destAddrTon,
    dest_addr_npi: f.destAddrNpi,
    destination_addr: f.destinationAddr,
    esm_class: f.esmClass,
    protocol_id: f.protocolId,
    priority_flag: f.priorityFlag,
    validity_period: f.validityPeriod,
    registered_delivery: f.registeredDelivery,
    data_coding: f.dataCoding,
    short_message: f.shortMessage,
  };
  if (f.messagePayload) fields.message_payload = f.messagePayload;
  return encodePdu('submit_sm', seq, fields);
}

describe('hand-written submit_sm encoder, with the smpp library as oracle', () => {
  const cases: Array<[string, Partial<SubmitFields>]> = [
    ['plain', {}],
    ['udh + ucs2', { esmClass: 0x40, dataCoding: 8, shortMessage: Buffer.from('0500030102010041', 'hex') }],
    [
      'service type, validity, priority',
      { serviceType: 'CMT', validityPeriod: '000001000000000R', priorityFlag: 1, protocolId: 0x7f },
    ],
    [
      'empty body, message_payload',
      { shortMessage: Buffer.alloc(0), messagePayload: Buffer.alloc(600, 0x41) },
    ],
    ['alphanumeric sender', { sourceAddr: 'Parley', sourceAddrTon: 5, sourceAddrNpi: 0 }],
    ['254-octet short_message', { shortMessage: Buffer.alloc(254, 0x7f) }],
    ['max sequence', {}],
  ];
  for (const [name, over] of cases) {
    it(`is byte-identical: ${name}`, () => {
      const f = { ...base, ...over };
      const seq = name === 'max sequence' ? 0x7fffffff : 42;
      expect(encodeSubmitSm(seq, f).toString('hex')).toBe(viaLibrary(seq, f).toString('hex'));
    });
  }
  it('refuses a short_message over 254 octets instead of throwing mid-write', () => {
    expect(() => encodeSubmitSm(1, { ...base, shortMessage: Buffer.alloc(255) })).toThrow(SmppProtocolError);
  });
});

describe('hand-written response codecs', () => {
  it('deliver_sm_resp and data_sm_resp match the library for OK and error', () => {
    expect(
      encodeInboundResp(COMMAND_ID.deliver_sm_resp, 9, 0).equals(
        encodePdu('deliver_sm_resp', 9, { message_id: '' }),
      ),
    ).toBe(true);
    expect(
      encodeInboundResp(COMMAND_ID.deliver_sm_resp, 9, 0x64).equals(
        encodePdu('deliver_sm_resp', 9, {}, 0x64),
      ),
    ).toBe(true);
    expect(
      encodeInboundResp(COMMAND_ID.data_sm_resp, 9, 0).equals(
        encodePdu('data_sm_resp', 9, { message_id: '' }),
      ),
    ).toBe(true);
  });
  it('reads submit_sm_resp message_id like the library', () => {
    for (const id of ['', '0', '8A44102A66000001', 'x'.repeat(64)]) {
      const frame = encodePdu('submit_sm_resp', 3, { message_id: id });
      expect(decodeSubmitSmRespId(frame)).toBe(decodePdu(frame).fields.message_id);
    }
    expect(decodeSubmitSmRespId(encodePdu('submit_sm_resp', 3, {}, 0x58))).toBe('');
  });
});

describe('hand-written deliver_sm decoder, with the smpp library as oracle', () => {
  const deliver = (fields: Record<string, unknown>) =>
    encodePdu('deliver_sm', 5, {
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: '447700900123',
      destination_addr: '12345',
      ...fields,
    });
  const cases: Array<[string, Record<string, unknown>]> = [
    [
      'receipt text + TLVs',
      {
        esm_class: 4,
        short_message: Buffer.from('id:1A stat:DELIVRD err:000'),
        receipted_message_id: '1A',
        message_state: 2,
        network_error_code: Buffer.from([3, 0, 1]),
      },
    ],
    [
      'MO with UDH',
      { esm_class: 0x40, data_coding: 8, short_message: Buffer.from('050003070201d83dde00', 'hex') },
    ],
    [
      'MO with SAR',
      {
        short_message: Buffer.from('part'),
        sar_msg_ref_num: 513,
        sar_total_segments: 3,
        sar_segment_seqnum: 2,
      },
    ],
    ['MO in message_payload', { short_message: Buffer.alloc(0), message_payload: Buffer.alloc(400, 0x42) }],
    ['empty', { short_message: Buffer.alloc(0) }],
  ];
  for (const [name, fields] of cases) {
    it(`decodes like the library: ${name}`, () => {
      const frame = deliver(fields);
      const lib = inboundFromFields(decodePdu(frame).fields);
      const fast = decodeDeliverSm(frame);
      for (const [k, v] of Object.entries(lib)) {
        if (v === undefined) expect((fast as unknown as Record<string, unknown>)[k], k).toBeUndefined();
        else expect((fast as unknown as Record<string, unknown>)[k], k).toEqual(v);
      }
    });
  }
  it('rejects a TLV that runs past the PDU and a truncated mandatory part', () => {
    const frame = Buffer.concat([
      deliver({ short_message: Buffer.from('x') }),
      Buffer.from('0427000a02', 'hex'),
    ]);
    frame.writeUInt32BE(frame.length, 0);
    expect(() => decodeDeliverSm(frame)).toThrow(/runs past/);
    const short = deliver({ short_message: Buffer.from('hello') }).subarray(0, 40);
    short.writeUInt32BE(short.length, 0);
    expect(() => decodeDeliverSm(short)).toThrow(SmppProtocolError);
  });
});
