import { describe, expect, it } from 'vitest';
import { alphabetOf, decodeText, splitUdh } from '../../src/smpp/encoding/decode.ts';
import {
  interpretInbound,
  isReceipt,
  joinMoParts,
  MISSING_PART,
  validConcat,
} from '../../src/smpp/inbound.ts';
import { inboundPdu } from '../helpers/core-fixtures.ts';

const pdu = inboundPdu;

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
  it('decodes an MO and prefers message_payload', () => {
    const ev = interpretInbound(
      pdu({ shortMessage: Buffer.alloc(0), messagePayload: Buffer.from('STOP'), dataCoding: 0x01 }),
    );
    expect(ev).toMatchObject({
      kind: 'mo',
      part: {
        from: { addr: '15551230000', ton: 1 },
        to: { addr: '12345', ton: 0 },
        text: 'STOP',
        concat: undefined,
      },
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

describe('MO reassembly (pure join; parts are stored in the database)', () => {
  const part = (seq: number, text: string, dataCoding = 0) => ({
    seq,
    dataCoding,
    text,
    raw: Buffer.from(text, 'latin1'),
  });

  it('joins parts in sequence order whatever order they came in, duplicates once', () => {
    expect(joinMoParts(3, [part(3, 'c'), part(1, 'a'), part(1, 'a'), part(2, 'b')])).toMatchObject({
      text: 'abc',
      complete: true,
      received: 3,
    });
  });
  it('marks missing parts of an incomplete message instead of dropping it', () => {
    expect(joinMoParts(3, [part(1, 'a'), part(3, 'c')])).toMatchObject({
      text: `a${MISSING_PART}c`,
      complete: false,
      received: 2,
    });
    expect(joinMoParts(2, [])).toMatchObject({ text: `${MISSING_PART}${MISSING_PART}`, complete: false });
  });
  it('ignores parts whose seq is outside 1..total', () => {
    expect(joinMoParts(2, [part(0, 'x'), part(1, 'a'), part(3, 'y'), part(2, 'b')]).text).toBe('ab');
  });
  it('joins UCS-2 octets before decoding, so a character split across parts comes out whole', () => {
    const bytes = Buffer.from('d83dde00', 'hex'); // 😀 as UTF-16BE: the pair is split between the parts
    const p1 = { seq: 1, dataCoding: 8, text: '\ud83d', raw: bytes.subarray(0, 2) };
    const p2 = { seq: 2, dataCoding: 8, text: '\ude00', raw: bytes.subarray(2) };
    expect(joinMoParts(2, [p2, p1]).text).toBe('😀');
  });
});

describe('concatenation info', () => {
  it('accepts only usable values', () => {
    expect(validConcat(7, 2, 1, 'udh')).toEqual({ ref: 7, total: 2, seq: 1, source: 'udh' });
    expect(validConcat(7, 2, 0, 'sar')).toBeUndefined();
    expect(validConcat(7, 2, 3, 'sar')).toBeUndefined();
    expect(validConcat(7, 1, 1, 'sar')).toBeUndefined();
    expect(validConcat(7, 256, 1, 'sar')).toBeUndefined();
  });
  // Regression (issue 6): one deliver_sm with sar_segment_seqnum=0 crashed the gateway ~60 s later.
  it('treats SAR seqnum 0 (or beyond the total) as a lone message', () => {
    for (const seq of [0, 4, 255]) {
      const ev = interpretInbound(
        pdu({
          shortMessage: Buffer.from('48', 'hex'),
          sarMsgRefNum: 1,
          sarTotalSegments: 3,
          sarSegmentSeqnum: seq,
        }),
      );
      expect(ev.kind === 'mo' && ev.part.concat).toBeUndefined();
    }
  });
  it('keeps the TON/NPI and raw octets of both addresses for normalisation and storage', () => {
    const ev = interpretInbound(
      pdu({
        sourceAddrNpi: 1,
        destAddrTon: 2,
        destAddrNpi: 1,
        destinationAddr: '4155550100',
        shortMessage: Buffer.from('4869', 'hex'),
      }),
    );
    expect(ev.kind === 'mo' && ev.part).toMatchObject({
      from: { addr: '15551230000', ton: 1, npi: 1 },
      to: { addr: '4155550100', ton: 2, npi: 1 },
      text: 'Hi',
    });
    expect(ev.kind === 'mo' && ev.part.raw.toString('hex')).toBe('4869');
  });
});
