import fc from 'fast-check';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { pgArrayLiteral, prepareArrayParams } from '../../src/store/pg-array.ts';

// node-postgres' own serialization of a parameter: the oracle the fast path must equal exactly.
const library = (v: unknown) =>
  (pg as unknown as { utils: { prepareValue(v: unknown): unknown } }).utils.prepareValue(v);

const awkward = fc.constantFrom(
  '',
  'NULL',
  'null',
  '"',
  '\\',
  '\\"',
  '"\\',
  '{',
  '}',
  ',',
  ' a b ',
  '\u0000',
  '\n\t',
  'é😀',
  '\ud800',
  '{"a":1}',
);
const element = fc.oneof(
  fc.string({ unit: 'grapheme-ascii' }),
  fc.string({ unit: 'binary' }),
  awkward,
  fc.integer(),
  fc.double(),
  fc.bigInt(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);

describe('pgArrayLiteral: the array literal of node-postgres, built with less garbage', () => {
  it('equals the library character for character on plain values', () => {
    fc.assert(
      fc.property(fc.array(element, { maxLength: 40 }), (values) => {
        expect(pgArrayLiteral(values)).toBe(library(values));
      }),
      { numRuns: 3000 },
    );
  });

  it('equals the library on hand-picked edges', () => {
    const cases: unknown[][] = [
      [],
      [null],
      [undefined, null],
      ['a"b', 'c\\d', 'e\\"f'],
      [Number.NaN, Number.POSITIVE_INFINITY, -0, 1e21, 5e-324],
      [true, false],
      [12345678901234567890n],
      ['NULL', 'null', ''],
    ];
    for (const c of cases) expect(pgArrayLiteral(c)).toBe(library(c));
  });

  it('declines what it does not serialize (dates, buffers, objects, nested arrays)', () => {
    for (const odd of [new Date(0), Buffer.from('ab'), { a: 1 }, ['x'], new Uint8Array(2)])
      expect(pgArrayLiteral(['ok', odd])).toBeUndefined();
  });
});

describe('prepareArrayParams', () => {
  it('replaces plain arrays by their literal and leaves everything else to the library', () => {
    const dates = [new Date(0)];
    const params = [['a', null, 3], 'scalar', 7, dates, null];
    const out = prepareArrayParams(params);
    expect(out).toEqual(['{"a",NULL,"3"}', 'scalar', 7, dates, null]);
    expect(out?.[3]).toBe(dates);
    expect(params[0]).toEqual(['a', null, 3]);
  });

  it('returns the same array when nothing changes, and undefined for no parameters', () => {
    const params = ['a', 1];
    expect(prepareArrayParams(params)).toBe(params);
    expect(prepareArrayParams(undefined)).toBeUndefined();
  });
});
