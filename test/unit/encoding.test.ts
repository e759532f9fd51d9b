import { describe, expect, it } from 'vitest';
import {
  decodeGsm7,
  encodeGsm7,
  gsmLength,
  isGsm7,
  nonGsmCharacters,
  unpackGsm7,
} from '../../src/smpp/encoding/gsm7.ts';
import { chooseEncoding, encodeMessage } from '../../src/smpp/encoding/segment.ts';

const hex = (b: Buffer) => b.toString('hex');

describe('GSM 03.38 alphabet', () => {
  it('encodes the basic table at its 23.038 positions', () => {
    expect(hex(encodeGsm7('@£$¥èé'))).toBe('000102030405');
    expect(hex(encodeGsm7('Δ_ΦΓΛΩΠΨΣΘΞ'))).toBe('101112131415161718191a');
    expect(hex(encodeGsm7('ÆæßÉ !'))).toBe('1c1d1e1f2021');
    expect(hex(encodeGsm7('¡AZÄÖÑÜ§¿azäöñüà'))).toBe('40415a5b5c5d5e5f60617a7b7c7d7e7f');
    expect(hex(encodeGsm7('\n\r'))).toBe('0a0d');
  });

  it('escapes the extension table as ESC + code, two septets each', () => {
    expect(hex(encodeGsm7('€'))).toBe('1b65');
    expect(hex(encodeGsm7('{}[]~\\|^\f'))).toBe('1b281b291b3c1b3e1b3d1b2f1b401b141b0a');
    expect(gsmLength('a€b')).toBe(4);
  });

  it('round-trips every GSM-7 character', () => {
    const all =
      '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€\f';
    expect(isGsm7(all)).toBe(true);
    expect(decodeGsm7(encodeGsm7(all))).toBe(all);
  });

  it('refuses characters outside GSM-7 instead of sending "@" like the smpp library', () => {
    expect(isGsm7('hêllo')).toBe(false);
    expect(() => encodeGsm7('ê')).toThrow(RangeError);
    expect(nonGsmCharacters('héllo wörld 😀 ê')).toEqual(['😀', 'ê']);
  });

  it('decodes an unknown extension code as its basic character and masks the top bit', () => {
    expect(decodeGsm7(Buffer.from([0x1b, 0x41]))).toBe('A');
    expect(decodeGsm7(Buffer.from([0xc1]))).toBe('A');
  });

  it('unpacks packed septets (hellohello fixture from 23.038)', () => {
    const packed = Buffer.from('e8329bfd4697d9ec37', 'hex');
    expect(decodeGsm7(unpackGsm7(packed, 10))).toBe('hellohello');
  });
});

describe('encoding choice', () => {
  it('uses GSM-7 when every character fits, including accented ones in the table', () => {
    expect(chooseEncoding('Hello é à Ü')).toBe('gsm7');
    expect(chooseEncoding('price: 5€ [x]')).toBe('gsm7');
  });
  it('falls back to UCS-2, or Latin-1 when allowed and sufficient', () => {
    expect(chooseEncoding('crème brûlée')).toBe('ucs2');
    expect(chooseEncoding('crème brûlée', { allowLatin1: true })).toBe('latin1');
    expect(chooseEncoding('Привет', { allowLatin1: true })).toBe('ucs2');
  });
});

describe('segmentation', () => {
  it('fits 160 GSM septets in one part and splits 161 into 153 + 8 with an 8-bit UDH', () => {
    expect(encodeMessage('a'.repeat(160)).segmentCount).toBe(1);
    const m = encodeMessage('a'.repeat(161), { referenceNumber: 0x2a });
    expect(m.segmentCount).toBe(2);
    expect(m.udhi).toBe(true);
    expect(hex(m.parts[0]!.bytes.subarray(0, 6))).toBe('0500032a0201');
    expect(hex(m.parts[1]!.bytes.subarray(0, 6))).toBe('0500032a0202');
    expect(m.parts[0]!.bytes.length).toBe(6 + 153);
    expect(m.parts[1]!.text).toBe('a'.repeat(8));
  });

  it('counts escapes twice and never splits ESC from its code', () => {
    expect(encodeMessage('€'.repeat(80)).segmentCount).toBe(1);
    expect(encodeMessage('€'.repeat(81)).segmentCount).toBe(2);
    const m = encodeMessage(`${'a'.repeat(152)}€${'b'.repeat(10)}`);
    expect(m.parts[0]!.text).toBe('a'.repeat(152));
    expect(m.parts[1]!.text.startsWith('€')).toBe(true);
    expect(hex(m.parts[1]!.bytes.subarray(6, 8))).toBe('1b65');
  });

  it('uses 70/67 for UCS-2 and keeps surrogate pairs whole', () => {
    expect(encodeMessage('Ж'.repeat(70)).segmentCount).toBe(1);
    expect(encodeMessage('Ж'.repeat(71)).segmentCount).toBe(2);
    const m = encodeMessage(`${'Ж'.repeat(66)}😀end`);
    expect(m.encoding).toBe('ucs2');
    expect(m.dataCoding).toBe(0x08);
    expect(m.parts[0]!.text).toBe('Ж'.repeat(66));
    expect(m.parts[1]!.text).toBe('😀end');
    expect(hex(m.parts[1]!.bytes.subarray(6, 10))).toBe('d83dde00');
  });

  it('encodes UCS-2 as UTF-16BE', () => {
    expect(hex(encodeMessage('Hé€😀').parts[0]!.bytes)).toBe('0048' + '00e9' + '20ac' + 'd83dde00');
    // é and € are GSM-7, so this text is UCS-2 only because of the emoji.
    expect(encodeMessage('Hé€😀').nonGsmCharacters).toEqual(['😀']);
  });

  it('supports the 16-bit reference UDH with 152 septets per part', () => {
    const m = encodeMessage('x'.repeat(400), { concatRef: '16bit', referenceNumber: 0x1234 });
    expect(m.segmentCount).toBe(3);
    expect(hex(m.parts[0]!.bytes.subarray(0, 7))).toBe('06080412340301');
    expect(m.parts[0]!.bytes.length).toBe(7 + 152);
  });

  it('uses 140/134 octets for Latin-1', () => {
    expect(encodeMessage('ê'.repeat(140), { allowLatin1: true }).segmentCount).toBe(1);
    const m = encodeMessage('ê'.repeat(141), { allowLatin1: true });
    expect(m.dataCoding).toBe(0x03);
    expect(m.segmentCount).toBe(2);
    expect(m.parts[0]!.bytes.length).toBe(6 + 134);
  });

  it('puts the whole text in one message_payload part in payload mode, still counting segments', () => {
    const m = encodeMessage('a'.repeat(400), { mode: 'payload' });
    expect(m.parts).toHaveLength(1);
    expect(m.udhi).toBe(false);
    expect(m.segmentCount).toBe(3);
    expect(m.parts[0]!.bytes.length).toBe(400);
  });

  it('labels GSM-7 with the carrier data_coding (0x00 or 0x01)', () => {
    expect(encodeMessage('hi').dataCoding).toBe(0);
    expect(encodeMessage('hi', { gsmDataCoding: 1 }).dataCoding).toBe(1);
  });

  it('handles empty text and rejects more than 255 segments', () => {
    const e = encodeMessage('');
    expect(e.segmentCount).toBe(1);
    expect(e.parts[0]!.bytes.length).toBe(0);
    expect(() => encodeMessage('a'.repeat(153 * 256))).toThrow(RangeError);
  });
});
