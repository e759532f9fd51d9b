// Segmentation edges that mutation testing showed unpinned: a part one unit too long is refused
// by the SMSC, a surrogate pair split across parts arrives as two replacement characters.
import { describe, expect, it } from 'vitest';
import { chooseEncoding, encodeMessage } from '../../src/smpp/encoding/segment.ts';

const texts = (m: ReturnType<typeof encodeMessage>) => m.parts.map((p) => p.text);

describe('Latin-1 choice', () => {
  it('takes U+00FF as Latin-1 and U+0100 as UCS-2', () => {
    expect(chooseEncoding('ÿ', { allowLatin1: true })).toBe('latin1');
    expect(chooseEncoding('Ā', { allowLatin1: true })).toBe('ucs2');
    expect(chooseEncoding('ÿ')).toBe('ucs2');
  });

  it('splits Latin-1 at 140 single / 134 per part', () => {
    expect(encodeMessage('ÿ'.repeat(140), { allowLatin1: true }).segmentCount).toBe(1);
    const m = encodeMessage('ÿ'.repeat(141), { allowLatin1: true });
    expect(texts(m).map((t) => t.length)).toEqual([134, 7]);
    expect(m.parts[0]!.bytes.length).toBe(6 + 134);
  });
});

describe('UCS-2 units', () => {
  it('counts every code unit: 70 fit one part, 71 need two', () => {
    expect(encodeMessage('Ж'.repeat(70)).segmentCount).toBe(1);
    expect(texts(encodeMessage('Ж'.repeat(71))).map((t) => t.length)).toEqual([67, 4]);
  });

  it('never splits a surrogate pair, at both ends of the high-surrogate range', () => {
    for (const astral of ['😀', '\u{10000}', '\u{10FFFF}']) {
      const m = encodeMessage(`${'Ж'.repeat(66)}${astral}${'Ж'.repeat(10)}`);
      expect(texts(m), astral).toEqual(['Ж'.repeat(66), `${astral}${'Ж'.repeat(10)}`]);
    }
  });

  it('counts a lone high surrogate at the end as one unit', () => {
    expect(encodeMessage(`${'Ж'.repeat(69)}\ud83d`).segmentCount).toBe(1);
  });

  it('cuts after exactly 67 units when the characters above the surrogates follow', () => {
    // U+E000 is above the high-surrogate range: one unit each, so the first part is 67 units.
    expect(texts(encodeMessage(`ЖЖ${'\ue000'.repeat(69)}`)).map((t) => t.length)).toEqual([67, 4]);
  });

  it('counts low surrogates and characters just outside the range as one unit each', () => {
    // U+D7FF and U+DC00..: not high surrogates; 70 of them fit one part.
    expect(encodeMessage('\ud7ff'.repeat(70)).segmentCount).toBe(1);
    expect(encodeMessage('\udc00'.repeat(70)).segmentCount).toBe(1);
  });
});

describe('parts', () => {
  it('carry the whole text, the last part included', () => {
    const text = `${'a'.repeat(153)}${'b'.repeat(153)}tail`;
    const m = encodeMessage(text);
    expect(texts(m)).toEqual(['a'.repeat(153), 'b'.repeat(153), 'tail']);
    expect(m.parts[2]!.bytes.subarray(6).toString('latin1')).toBe('tail');
  });

  it('fit at most 255 segments in a UDH and say how many a longer text needs', () => {
    expect(encodeMessage('a'.repeat(153 * 255)).segmentCount).toBe(255);
    expect(() => encodeMessage('a'.repeat(153 * 255 + 1))).toThrow(/needs 256 segments/);
  });

  it('list the characters that forced UCS-2, none for GSM-7', () => {
    expect(encodeMessage('plain').nonGsmCharacters).toEqual([]);
    expect(encodeMessage('Жa😀').nonGsmCharacters).toEqual(['Ж', '😀']);
  });

  it('in payload mode: one part without UDH, billed as its segments', () => {
    const m = encodeMessage('a'.repeat(200), { mode: 'payload' });
    expect(m).toMatchObject({ udhi: false, segmentCount: 2 });
    expect(m.parts).toHaveLength(1);
    expect(m.parts[0]!.bytes.length).toBe(200);
  });

  it('single-part messages carry no UDH', () => {
    const m = encodeMessage('short');
    expect(m.udhi).toBe(false);
    expect(m.parts[0]!.bytes.toString('latin1')).toBe('short');
  });
});
