// data_coding and UDH edges: an MO read with the wrong alphabet, or a concatenation element read
// from a malformed UDH, is stored as garbage or joined with the wrong parts.
import { describe, expect, it } from 'vitest';
import { type Alphabet, alphabetOf, decodeText, splitUdh } from '../../src/smpp/encoding/decode.ts';

/** TS 23.038 §4's table, read row by row (with SMPP 3.4's own values below 0x10). */
function specAlphabet(dc: number): Alphabet {
  const smpp: Record<number, Alphabet> = { 0: 'gsm7', 1: 'ascii', 3: 'latin1', 8: 'ucs2' };
  if (dc < 0x10) return smpp[dc] ?? 'binary';
  const charset = (['gsm7', 'binary', 'ucs2', 'gsm7'] as const)[(dc & 0x0c) >> 2]!;
  if (dc >= 0x10 && dc <= 0x3f) return charset; // 00xx general data coding
  if (dc >= 0x40 && dc <= 0x7f) return charset; // 01xx automatic deletion, coded as 00xx
  if (dc >= 0x80 && dc <= 0xbf) return 'gsm7'; // reserved groups: the default alphabet
  if (dc >= 0xc0 && dc <= 0xdf) return 'gsm7'; // message waiting, discard/store, GSM 7
  if (dc >= 0xe0 && dc <= 0xef) return 'ucs2'; // message waiting, store, UCS2
  return dc & 0x04 ? 'binary' : 'gsm7'; // 1111: data coding/message class
}

describe('alphabetOf', () => {
  it('follows the data coding table for every one of the 256 values', () => {
    for (let dc = 0; dc < 256; dc++) expect(alphabetOf(dc), `0x${dc.toString(16)}`).toBe(specAlphabet(dc));
  });

  it('reads the values carriers actually send', () => {
    expect(
      [0x00, 0x01, 0x03, 0x08, 0x18, 0x48, 0x44, 0xf4, 0xf0, 0xe8, 0xc0, 0x90, 0x06].map(alphabetOf),
    ).toEqual([
      'gsm7',
      'ascii',
      'latin1',
      'ucs2',
      'ucs2',
      'ucs2',
      'binary',
      'binary',
      'gsm7',
      'ucs2',
      'gsm7',
      'gsm7',
      'binary',
    ]);
  });
});

describe('decodeText', () => {
  it('clears the top bit of IA5 octets and drops an odd trailing UCS-2 octet', () => {
    expect(decodeText(Buffer.from([0xc8, 0x69]), 0x01)).toEqual({ text: 'Hi', alphabet: 'ascii' });
    expect(decodeText(Buffer.from([0x00, 0x48, 0x00, 0x69, 0x00]), 0x08)).toEqual({
      text: 'Hi',
      alphabet: 'ucs2',
    });
    expect(decodeText(Buffer.from([0xe9]), 0x03)).toEqual({ text: 'é', alphabet: 'latin1' });
    expect(decodeText(Buffer.from([0x01, 0xff]), 0x04)).toEqual({ text: '01ff', alphabet: 'binary' });
  });
});

const udh = (...octets: number[]) => Buffer.from(octets);

describe('splitUdh', () => {
  it('reads 8-bit and 16-bit concatenation elements', () => {
    expect(splitUdh(udh(5, 0x00, 3, 0x2a, 3, 2, 0x41)).concat).toEqual({ ref: 0x2a, total: 3, seq: 2 });
    expect(splitUdh(udh(6, 0x08, 4, 0x12, 0x34, 2, 2, 0x41)).concat).toEqual({
      ref: 0x1234,
      total: 2,
      seq: 2,
    });
  });

  it('finds the concatenation element after other elements, and splits payload from header', () => {
    const s = splitUdh(udh(8, 0x24, 1, 0x01, 0x00, 3, 0x07, 2, 1, 0x68, 0x69));
    expect(s.concat).toEqual({ ref: 7, total: 2, seq: 1 });
    expect([...s.udh]).toEqual([8, 0x24, 1, 0x01, 0x00, 3, 0x07, 2, 1]);
    expect(s.payload.toString()).toBe('hi');
  });

  it('ignores a concatenation element of the wrong length', () => {
    expect(splitUdh(udh(6, 0x00, 4, 1, 2, 1, 0, 0x41)).concat).toBeUndefined();
    // Read as a 16-bit element these octets would be a valid part 1 of 2.
    expect(splitUdh(udh(5, 0x08, 3, 7, 7, 2, 1)).concat).toBeUndefined();
  });

  it('ignores elements after the concatenation element that are not one', () => {
    // 8-bit concatenation, then application port addressing (IEI 0x05, 4 octets).
    const s = splitUdh(udh(11, 0x00, 3, 0x2a, 2, 1, 0x05, 4, 0x0b, 0x84, 0x23, 0xf0, 0x41));
    expect(s.concat).toEqual({ ref: 0x2a, total: 2, seq: 1 });
    expect(s.payload.toString()).toBe('A');
  });

  it('stops at an element running past the header', () => {
    // The element claims 3 octets; only 2 are in the header (the third is user data).
    const s = splitUdh(udh(4, 0x00, 3, 0x2a, 2, 1, 0x42));
    expect(s.concat).toBeUndefined();
    expect([...s.payload]).toEqual([1, 0x42]);
  });

  it('takes a header that fills the data exactly, and treats a longer one as absent', () => {
    const exact = splitUdh(udh(5, 0x00, 3, 9, 2, 2));
    expect(exact.concat).toEqual({ ref: 9, total: 2, seq: 2 });
    expect(exact.payload.length).toBe(0);
    const long = splitUdh(udh(6, 0x00, 3, 9, 2, 2));
    expect(long.concat).toBeUndefined();
    expect(long.udh.length).toBe(0);
    expect(long.payload.length).toBe(6);
    expect(splitUdh(Buffer.alloc(0)).concat).toBeUndefined();
  });

  it('refuses impossible sequence numbers (0, past the total, total 0) but takes the last part', () => {
    expect(splitUdh(udh(5, 0x00, 3, 1, 3, 0, 0x41)).concat).toBeUndefined();
    expect(splitUdh(udh(5, 0x00, 3, 1, 3, 4, 0x41)).concat).toBeUndefined();
    expect(splitUdh(udh(5, 0x00, 3, 1, 0, 0, 0x41)).concat).toBeUndefined();
    expect(splitUdh(udh(5, 0x00, 3, 1, 3, 3, 0x41)).concat).toEqual({ ref: 1, total: 3, seq: 3 });
  });
});
