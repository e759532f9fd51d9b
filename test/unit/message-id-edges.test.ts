// Id readings at their edges: a wrong key is a receipt that never matches (a message stuck in
// `sent`) or, worse, one that matches another message.
import { describe, expect, it } from 'vitest';
import { idReading, receiptIdCandidates, submitIdKey } from '../../src/smpp/message-id.ts';

describe('message id readings', () => {
  it('strips leading zeros only, keeping a lone zero and zeros inside', () => {
    expect(idReading('00ab', 'text')).toBe('s:ab');
    expect(idReading('a00b', 'text')).toBe('s:a00b');
    expect(idReading('000', 'text')).toBe('s:0');
    expect(idReading('1000', 'text')).toBe('s:1000');
  });

  it('reads numbers of up to 40 characters, longer ones as text only', () => {
    const forty = '9'.repeat(40);
    expect(idReading(forty, 'decimal')).toBe(`n:${forty}`);
    expect(idReading(`${forty}9`, 'decimal')).toBeUndefined();
    expect(submitIdKey(`${forty}9`, 'decimal')).toBe(`s:${forty}9`);
  });

  it('refuses a reading the whole id does not fit', () => {
    for (const id of ['12a', 'a12']) expect(idReading(id, 'decimal'), id).toBeUndefined();
    for (const id of ['fg', 'gf']) expect(idReading(id, 'hex'), id).toBeUndefined();
    for (const id of ['ab-', '-ab']) expect(idReading(id, 'base36'), id).toBeUndefined();
    expect(idReading('zz', 'base36')).toBe('n:1295');
  });

  it('reads submitted ids as hex by default, text when they are not hex', () => {
    expect(submitIdKey('1F')).toBe('n:31');
    expect(submitIdKey('xyz')).toBe('s:xyz');
    expect(submitIdKey('xyz', 'decimal')).toBe('s:xyz');
  });

  it('offers the same rendering first, then the decimal reading, by default', () => {
    expect(receiptIdCandidates('31')).toEqual(['n:49', 'n:31']);
    expect(receiptIdCandidates('ff')).toEqual(['n:255']);
    expect(receiptIdCandidates('', 'decimal')).toEqual([]);
    expect(receiptIdCandidates('x1', 'decimal')).toEqual(['s:x1']);
  });
});
