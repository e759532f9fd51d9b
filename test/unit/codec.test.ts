import { describe, expect, it } from 'vitest';
import { SmppProtocolError } from '../../src/errors/app-error.ts';
import { PduFramer } from '../../src/smpp/framer.ts';
import { COMMAND_ID, decodePdu, encodeHeaderOnly, encodePdu } from '../../src/smpp/pdu-codec.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// submit_sm seq 7: src 1/1 "12345", dst 1/1 "15551230000", esm 0x40, reg 1, dc 8, short_message 4 octets.
const SUBMIT_HEX = `
  00000035 00000004 00000000 00000007
  00 01 01 3132333435 00 01 01 3135353531323330303030 00
  40 00 00 00 00 01 00 08 00 04 d83dde00`;

// deliver_sm receipt with receipted_message_id "1A2B" and message_state 2.
const RECEIPT_HEX = `
  00000000 00000005 00000000 00000003
  00 01 01 3135353531323330303030 00 00 00 3132333435 00
  04 00 00 00 00 00 00 00 00 1c
  69643a31413242 2073746174 3a44454c49565244 206572723a303030
  001e 0005 3141324200
  0427 0001 02`;

describe('PDU codec on the smpp library', () => {
  it('encodes submit_sm byte-exactly with a raw short_message', () => {
    const b = encodePdu('submit_sm', 7, {
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: '12345',
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: '15551230000',
      esm_class: 0x40,
      registered_delivery: 1,
      data_coding: 8,
      short_message: hex('d83dde00'),
    });
    expect(b.toString('hex')).toBe(hex(SUBMIT_HEX).toString('hex'));
  });

  it('decodes a receipt deliver_sm with TLVs and keeps short_message as raw octets', () => {
    const frame = hex(RECEIPT_HEX);
    frame.writeUInt32BE(frame.length, 0);
    const p = decodePdu(frame);
    expect(p.command).toBe('deliver_sm');
    expect(p.sequenceNumber).toBe(3);
    expect(p.fields.esm_class).toBe(4);
    expect(Buffer.isBuffer(p.fields.short_message)).toBe(true);
    expect((p.fields.short_message as Buffer).toString()).toBe('id:1A2B stat:DELIVRD err:000');
    expect(p.fields.receipted_message_id).toBe('1A2B');
    expect(p.fields.message_state).toBe(2);
  });

  it('keeps GSM octets that the library would have mangled (0x1B escape, @ = 0x00)', () => {
    const b = encodePdu('deliver_sm', 1, { data_coding: 0, short_message: hex('001b65') });
    expect((decodePdu(b).fields.short_message as Buffer).toString('hex')).toBe('001b65');
  });

  it('decodes unknown commands as "unknown" for a generic_nack', () => {
    expect(decodePdu(encodeHeaderOnly(0x00000777, 0, 5)).command).toBe('unknown');
  });

  it('wraps library failures as SmppProtocolError', () => {
    expect(() => encodePdu('submit_sm', 1, { short_message: Buffer.alloc(300) })).toThrow(SmppProtocolError);
    expect(() => encodePdu('submit_sm', 1, { source_addr: undefined })).toThrow(SmppProtocolError);
  });

  it('builds header-only PDUs identical to the library', () => {
    expect(encodeHeaderOnly(COMMAND_ID.enquire_link, 0, 9).equals(encodePdu('enquire_link', 9))).toBe(true);
    expect(encodeHeaderOnly(COMMAND_ID.generic_nack, 3, 9).equals(encodePdu('generic_nack', 9, {}, 3))).toBe(
      true,
    );
  });
});

describe('PduFramer', () => {
  const el = encodeHeaderOnly(COMMAND_ID.enquire_link, 0, 1);
  it('reassembles frames split across chunks and splits coalesced ones', () => {
    const f = new PduFramer(4096);
    const two = Buffer.concat([el, el]);
    expect(f.push(two.subarray(0, 3))).toHaveLength(0);
    expect(f.push(two.subarray(3, 20))).toHaveLength(1);
    expect(f.buffered).toBe(4);
    expect(f.push(two.subarray(20))).toHaveLength(1);
    expect(f.buffered).toBe(0);
  });
  it('throws on a command_length below 16 or above the maximum', () => {
    expect(() => new PduFramer(4096).push(hex('0000000400000015'))).toThrow(SmppProtocolError);
    expect(() => new PduFramer(4096).push(hex('7fffffff00000015'))).toThrow(/command_length/);
  });
});
