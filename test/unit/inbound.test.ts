import { describe, expect, it } from 'vitest';
import { alphabetOf, decodeText, splitUdh } from '../../src/smpp/encoding/decode.ts';
import {
  type InboundPdu,
  interpretInbound,
  isReceipt,
  MISSING_PART,
  MoReassembler,
} from '../../src/smpp/inbound.ts';

function pdu(over: Partial<InboundPdu>): InboundPdu {
  return {
    sourceAddr: '15551230000',
    sourceAddrTon: 1,
    destinationAddr: '12345',
    destAddrTon: 0,
    esmClass: 0,
    dataCoding: 0,
    shortMessage: Buffer.alloc(0),
    ...over,
  };
}

describe('data_coding', () => {
  it('honours coding groups instead of masking with 0x0F', () => {
    expect(alphabetOf(0x00)).toBe('gsm7');
    expect(alphabetOf(0x01)).toBe('ascii');
    expect(alphabetOf(0x03)).toBe('latin1');
    expect(alphabetOf(0x08)).toBe('ucs2');
    expect(alphabetOf(0x18)).toBe('ucs2');
    expect(alphabetOf(0x04)).toBe('binary');
    expect(alphabetOf(0xf0)).toBe('gsm7');
    expect(alphabetOf(0xf4)).toBe('binary');
  });
  it('decodes GSM-7, IA5, Latin-1 and UCS-2 octets', () => {
    expect(decodeText(Buffer.from('48656c6c6f1b65', 'hex'), 0x00).text).toBe('Hello€');
    expect(decodeText(Buffer.from('48690d', 'hex'), 0x01).text).toBe('Hi\r');
    expect(decodeText(Buffer.from('e9e8', 'hex'), 0x03).text).toBe('éè');
    expect(decodeText(Buffer.from('041f0440d83dde00', 'hex'), 0x08).text).toBe('Пр😀');
    expect(decodeText(Buffer.from('0102', 'hex'), 0x04)).toEqual({ text: '0102', alphabet: 'binary' });
  });
  it('ignores a dangling odd byte in UCS-2', () => {
    expect(decodeText(Buffer.from('004100', 'hex'), 0x08).text).toBe('A');
  });
});

describe('UDH', () => {
  it('reads 8-bit and 16-bit concatenation elements', () => {
    expect(splitUdh(Buffer.from('0500032a030268', 'hex')).concat).toEqual({ ref: 0x2a, total: 3, seq: 2 });
    const s = splitUdh(Buffer.from('0608041234020168', 'hex'));
    expect(s.concat).toEqual({ ref: 0x1234, total: 2, seq: 1 });
    expect(s.payload.toString('hex')).toBe('68');
  });
  it('skips other elements and tolerates a UDH longer than the data', () => {
    expect(splitUdh(Buffer.from('0b' + '0a0401020304' + '000301020168' + '69', 'hex')).concat).toEqual({
      ref: 1,
      total: 2,
      seq: 1,
    });
    const bad = splitUdh(Buffer.from('ff0003', 'hex'));
    expect(bad.concat).toBeUndefined();
    expect(bad.payload.toString('hex')).toBe('ff0003');
    expect(splitUdh(Buffer.from('050003010003', 'hex')).concat).toBeUndefined();
  });
});

describe('inbound classification', () => {
  it('tells receipts from MO by esm_class', () => {
    expect(isReceipt(0x04)).toBe(true);
    expect(isReceipt(0x44)).toBe(true);
    expect(isReceipt(0x08)).toBe(true);
    expect(isReceipt(0x20)).toBe(true);
    expect(isReceipt(0x00)).toBe(false);
    expect(isReceipt(0x40)).toBe(false);
  });
  it('parses a receipt from text and TLVs', () => {
    const ev = interpretInbound(
      pdu({ esmClass: 0x04, shortMessage: Buffer.from('id:0A stat:DELIVRD err:000'), messageState: 2 }),
    );
    expect(ev.kind).toBe('receipt');
    if (ev.kind === 'receipt') expect(ev.receipt.messageId).toBe('0A');
  });
  it('reports an unusable receipt instead of throwing', () => {
    expect(interpretInbound(pdu({ esmClass: 0x04, shortMessage: Buffer.from('garbage') })).kind).toBe(
      'invalid-receipt',
    );
  });
  it('decodes an MO, adding + for international TON, and prefers message_payload', () => {
    const ev = interpretInbound(
      pdu({ shortMessage: Buffer.alloc(0), messagePayload: Buffer.from('STOP'), dataCoding: 0x01 }),
    );
    expect(ev).toMatchObject({
      kind: 'mo',
      part: { from: '+15551230000', to: '12345', text: 'STOP', concat: undefined },
    });
  });
  it('reads UDH and SAR concatenation', () => {
    const udh = interpretInbound(pdu({ esmClass: 0x40, shortMessage: Buffer.from('05000307020148', 'hex') }));
    expect(udh.kind === 'mo' && udh.part.concat).toEqual({ ref: 7, total: 2, seq: 1, source: 'udh' });
    const sar = interpretInbound(
      pdu({ shortMessage: Buffer.from('48'), sarMsgRefNum: 300, sarTotalSegments: 3, sarSegmentSeqnum: 3 }),
    );
    expect(sar.kind === 'mo' && sar.part.concat).toEqual({ ref: 300, total: 3, seq: 3, source: 'sar' });
  });
});

describe('MO reassembly', () => {
  const part = (seq: number, text: string, total = 3, ref = 9, from = '+1') => ({
    from,
    to: '12345',
    dataCoding: 0,
    alphabet: 'gsm7' as const,
    text,
    concat: { ref, total, seq, source: 'udh' as const },
  });

  it('joins parts that arrive out of order and ignores duplicates', () => {
    const r = new MoReassembler(1000);
    expect(r.add(part(3, 'c'), 0)).toBeUndefined();
    expect(r.add(part(1, 'a'), 1)).toBeUndefined();
    expect(r.add(part(1, 'a'), 2)).toBeUndefined();
    expect(r.add(part(2, 'b'), 3)).toEqual({
      from: '+1',
      to: '12345',
      text: 'abc',
      alphabet: 'gsm7',
      segments: 3,
      complete: true,
    });
    expect(r.size).toBe(0);
  });
  it('keeps messages from different senders with the same ref apart', () => {
    const r = new MoReassembler(1000);
    r.add(part(1, 'x', 2, 1, '+1'), 0);
    r.add(part(1, 'y', 2, 1, '+2'), 0);
    expect(r.add(part(2, 'X', 2, 1, '+1'), 0)?.text).toBe('xX');
    expect(r.add(part(2, 'Y', 2, 1, '+2'), 0)?.text).toBe('yY');
  });
  it('delivers an incomplete message after the timeout instead of dropping it', () => {
    const r = new MoReassembler(1000);
    r.add(part(1, 'a'), 0);
    r.add(part(3, 'c'), 10);
    expect(r.expire(999)).toEqual([]);
    expect(r.expire(1000)).toEqual([
      { from: '+1', to: '12345', text: `a${MISSING_PART}c`, alphabet: 'gsm7', segments: 3, complete: false },
    ]);
  });
  it('passes single-part messages straight through', () => {
    const r = new MoReassembler();
    expect(
      r.add({ from: '+1', to: '2', dataCoding: 0, alphabet: 'gsm7', text: 'hi', concat: undefined }, 0)?.text,
    ).toBe('hi');
  });
});
