import smpp from 'smpp';
import { describe, expect, it } from 'vitest';
import { decodeSubmitSm, encodeDeliverSm } from '../../simulator/fast-pdu.ts';
import '../../simulator/pdu.ts';

describe("simulator's hand-written PDU paths, with the smpp library as oracle", () => {
  it('encodes receipts byte-identically', () => {
    for (const tlv of [true, false]) {
      const text = Buffer.from(
        'id:1A sub:001 dlvrd:001 submit date:2611261200 done date:2611261200 stat:DELIVRD err:000 text:hi',
      );
      const lib = new smpp.PDU('deliver_sm', {
        sequence_number: 12,
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: '15551230000',
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: '12345',
        esm_class: 4,
        data_coding: 0,
        short_message: text,
        ...(tlv
          ? { receipted_message_id: '1A', message_state: 2, network_error_code: Buffer.from([3, 0, 1]) }
          : {}),
      }).toBuffer();
      const fast = encodeDeliverSm(12, {
        sourceAddrTon: 1,
        sourceAddrNpi: 1,
        sourceAddr: '15551230000',
        destAddrTon: 1,
        destAddrNpi: 1,
        destinationAddr: '12345',
        esmClass: 4,
        dataCoding: 0,
        shortMessage: text,
        tlvs: tlv
          ? [
              [0x1e, Buffer.from('1A\0')],
              [0x0427, Buffer.from([2])],
              [0x0423, Buffer.from([3, 0, 1])],
            ]
          : [],
      });
      expect(fast.toString('hex')).toBe(lib.toString('hex'));
    }
  });

  it('decodes submit_sm like the library, and rejects overruns', () => {
    const lib = new smpp.PDU('submit_sm', {
      sequence_number: 3,
      service_type: 'CMT',
      source_addr: 'Parley',
      destination_addr: '447700900123',
      esm_class: 0x40,
      registered_delivery: 1,
      data_coding: 8,
      validity_period: '000001000000000R',
      short_message: Buffer.from('0500030102010041', 'hex'),
      message_payload: Buffer.from('abc'),
    }).toBuffer();
    const v = decodeSubmitSm(lib);
    const d = new smpp.PDU(lib);
    expect(v).toEqual({
      sourceAddr: d.source_addr,
      destinationAddr: d.destination_addr,
      esmClass: d.esm_class,
      registeredDelivery: d.registered_delivery,
      dataCoding: d.data_coding,
      shortMessage: d.short_message,
      messagePayload: d.message_payload,
    });
    const bad = Buffer.concat([lib, Buffer.from('04240009', 'hex')]);
    bad.writeUInt32BE(bad.length, 0);
    expect(() => decodeSubmitSm(bad)).toThrow(/runs past/);
    expect(() => decodeSubmitSm(lib.subarray(0, 30))).toThrow(RangeError);
  });
});
