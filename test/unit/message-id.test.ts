import { describe, expect, it } from 'vitest';
import { idReading, receiptIdCandidates, submitIdKey } from '../../src/smpp/message-id.ts';

/** The receipt's best candidate that a set of stored submit ids has, as the receipts statement picks it. */
function match(stored: string[], receiptId: string, submit = 'auto', receipt = 'auto'): string | undefined {
  const byKey = new Map<string, string>();
  for (const id of stored) byKey.set(submitIdKey(id, submit as never)!, id);
  for (const k of receiptIdCandidates(receiptId, receipt as never)) if (byKey.has(k)) return byKey.get(k);
  return undefined;
}

describe('SMSC message id matching', () => {
  it('matches case and leading-zero renderings', () => {
    expect(match(['8a44102a'], '008A44102A')).toBe('8a44102a');
    expect(match(['abcXYZ'], 'ABCxyz')).toBe('abcXYZ');
  });
  it('matches the decimal rendering of a hex id (auto)', () => {
    expect(match(['1A2B3C'], String(0x1a2b3c))).toBe('1A2B3C');
    expect(match(['1A2B3C'], '0000001715004')).toBe('1A2B3C');
  });
  it('matches a decimal SMSC that renders the same digits in both places (auto)', () => {
    expect(match(['268435457'], '268435457')).toBe('268435457');
    expect(match(['268435457'], '000268435457')).toBe('268435457');
  });
  it('prefers the same rendering over a cross reading when both exist (auto)', () => {
    // "10" hex = 16: a receipt "10" for submit id "10" must not match the submit id "16".
    expect(match(['16', '10'], '10')).toBe('10');
  });
  it('does not match different ids', () => {
    expect(match(['1A2B3C'], '1A2B3D')).toBeUndefined();
    expect(match(['SIM1X'], 'SIM2X')).toBeUndefined();
    expect(submitIdKey('  ')).toBeUndefined();
    expect(receiptIdCandidates('')).toEqual([]);
  });
  // Regression (issue 6): a base-36 submit id never matched its receipt in decimal (2,000 of 2,000 stuck in sent).
  it('matches base 36 in the response with decimal in the receipt when the carrier says so', () => {
    const n = 1_234_567_890_123;
    const b36 = n.toString(36).toUpperCase();
    expect(match([b36], String(n))).toBeUndefined(); // auto cannot know
    expect(match([b36], String(n), 'base36', 'decimal')).toBe(b36);
    expect(match([b36], `000${n}`, 'base36', 'decimal')).toBe(b36);
    expect(match([b36.toLowerCase()], String(n), 'base36', 'decimal')).toBe(b36.toLowerCase());
  });
  it('gives exactly one key per id under named formats, so no two ids are confused', () => {
    const ids = Array.from({ length: 2_000 }, (_, i) => (1_000_000 + i * 7919).toString(36));
    const keys = new Set(ids.map((id) => submitIdKey(id, 'base36')));
    expect(keys.size).toBe(ids.length);
    for (const id of ids.slice(0, 50)) {
      const dec = String(Number.parseInt(id, 36));
      expect(receiptIdCandidates(dec, 'decimal')).toHaveLength(1);
      expect(match(ids, dec, 'base36', 'decimal')).toBe(id);
    }
  });
  it('reads each format strictly', () => {
    expect(idReading('12ab', 'decimal')).toBeUndefined();
    expect(idReading('xyz', 'hex')).toBeUndefined();
    expect(idReading('xyz', 'base36')).toBe(`n:${Number.parseInt('xyz', 36)}`);
    expect(idReading('ff', 'hex')).toBe('n:255');
    expect(idReading('0255', 'decimal')).toBe('n:255');
    expect(idReading('0AbC', 'text')).toBe('s:abc');
    expect(idReading('a'.repeat(60), 'hex')).toBeUndefined(); // too long for a numeric reading
    expect(idReading('ab\u0000\r\n', 'text')).toBe('s:ab');
  });
});
