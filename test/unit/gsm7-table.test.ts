// The GSM 03.38 tables, position by position (3GPP TS 23.038 §6.2.1): a character one place off
// goes out as a different character on every handset, and nothing else would notice.
import { describe, expect, it } from 'vitest';
import {
  decodeGsm7,
  encodeGsm7,
  GSM_ESCAPE,
  gsmLength,
  isGsm7,
  nonGsmCharacters,
  unpackGsm7,
} from '../../src/smpp/encoding/gsm7.ts';

// The default alphabet as TS 23.038 Figure 6.2.1.1 lays it out, column by column (0x00–0x7F).
const COLUMNS = [
  ['@', 'Δ', ' ', '0', '¡', 'P', '¿', 'p'],
  ['£', '_', '!', '1', 'A', 'Q', 'a', 'q'],
  ['$', 'Φ', '"', '2', 'B', 'R', 'b', 'r'],
  ['¥', 'Γ', '#', '3', 'C', 'S', 'c', 's'],
  ['è', 'Λ', '¤', '4', 'D', 'T', 'd', 't'],
  ['é', 'Ω', '%', '5', 'E', 'U', 'e', 'u'],
  ['ù', 'Π', '&', '6', 'F', 'V', 'f', 'v'],
  ['ì', 'Ψ', "'", '7', 'G', 'W', 'g', 'w'],
  ['ò', 'Σ', '(', '8', 'H', 'X', 'h', 'x'],
  ['Ç', 'Θ', ')', '9', 'I', 'Y', 'i', 'y'],
  ['\n', 'Ξ', '*', ':', 'J', 'Z', 'j', 'z'],
  ['Ø', null, '+', ';', 'K', 'Ä', 'k', 'ä'],
  ['ø', 'Æ', ',', '<', 'L', 'Ö', 'l', 'ö'],
  ['\r', 'æ', '-', '=', 'M', 'Ñ', 'm', 'ñ'],
  ['Å', 'ß', '.', '>', 'N', 'Ü', 'n', 'ü'],
  ['å', 'É', '/', '?', 'O', '§', 'o', 'à'],
];
const BASIC: Array<[string, number]> = [];
for (const [low, row] of COLUMNS.entries())
  for (const [high, ch] of row.entries()) if (ch !== null) BASIC.push([ch, high * 16 + low]);
const EXTENSION: Array<[string, number]> = [
  ['\f', 0x0a],
  ['^', 0x14],
  ['{', 0x28],
  ['}', 0x29],
  ['\\', 0x2f],
  ['[', 0x3c],
  ['~', 0x3d],
  [']', 0x3e],
  ['|', 0x40],
  ['€', 0x65],
];

describe('GSM-7 default alphabet', () => {
  it('encodes and decodes all 127 characters at their positions', () => {
    expect(BASIC).toHaveLength(127);
    for (const [ch, code] of BASIC) {
      expect([...encodeGsm7(ch)], ch).toEqual([code]);
      expect(decodeGsm7(Uint8Array.of(code)), `0x${code.toString(16)}`).toBe(ch);
      expect(gsmLength(ch)).toBe(1);
    }
  });

  it('encodes the extension table as ESC + code, two septets each, and decodes it back', () => {
    for (const [ch, code] of EXTENSION) {
      expect([...encodeGsm7(ch)], ch).toEqual([GSM_ESCAPE, code]);
      expect(decodeGsm7(Uint8Array.of(GSM_ESCAPE, code))).toBe(ch);
      expect(gsmLength(ch)).toBe(2);
    }
    expect(gsmLength(`a€b${'{'}`)).toBe(6);
  });

  it('decodes what receivers must tolerate: top bit set, unknown extension, trailing ESC', () => {
    expect(decodeGsm7(Uint8Array.of(0xc1, 0xe2))).toBe('Ab');
    expect(decodeGsm7(Uint8Array.of(GSM_ESCAPE, 0x41))).toBe('A');
    expect(decodeGsm7(Uint8Array.of(0x41, GSM_ESCAPE))).toBe('A ');
  });

  it('says which characters force UCS-2, each once, astral ones whole', () => {
    expect(nonGsmCharacters('Ça va? ça 😀 va, ça 😀')).toEqual(['ç', '😀']);
    expect(nonGsmCharacters('€[]{}')).toEqual([]);
    expect(isGsm7('à')).toBe(true);
    expect(isGsm7('àç')).toBe(false);
    expect(() => gsmLength('ok ç')).toThrow(/U\+e7 /);
    // ESC is the extension prefix, never a character of its own: text holding it is not GSM-7.
    expect(isGsm7('a\x1bb')).toBe(false);
  });
});

/** Packs septets LSB-first into octets after `fill` bits, the way TS 23.038 §6.1.2.1 describes. */
function pack(septets: number[], fill: number): Buffer {
  const bits: number[] = Array(fill).fill(0);
  for (const s of septets) for (let b = 0; b < 7; b++) bits.push((s >> b) & 1);
  const out = Buffer.alloc(Math.ceil(bits.length / 8));
  bits.forEach((bit, i) => {
    out[i >> 3]! |= bit << (i & 7);
  });
  return out;
}

describe('unpackGsm7', () => {
  it('unpacks the textbook vector', () => {
    expect(unpackGsm7(Buffer.from('E8329BFD4697D9EC37', 'hex'), 10).toString('latin1')).toBe('hellohello');
  });

  it('unpacks at every fill-bit offset, whatever the septet values', () => {
    const septets = [0x7f, 0x00, 0x55, 0x2a, 0x01, 0x40, 0x7e, 0x3f, 0x1b, 0x65, 0x33];
    for (let fill = 0; fill < 7; fill++)
      expect([...unpackGsm7(pack(septets, fill), septets.length, fill)], `fill ${fill}`).toEqual(septets);
  });
});
