import { describe, expect, it } from 'vitest';
import { TurnBatch } from '../../src/messaging/turn-batch.ts';

describe('TurnBatch', () => {
  it('serves the calls of one turn with one batch per key, each with its own result', async () => {
    const calls: Array<[string, number[]]> = [];
    const b = new TurnBatch<string, number, number>(
      async (k, xs) => {
        calls.push([k, xs]);
        return xs.map((x) => x * 10);
      },
      () => true,
    );
    const r = await Promise.all([b.add('a', 1), b.add('b', 2), b.add('a', 3)]);
    expect(r).toEqual([10, 20, 30]);
    expect(calls).toEqual([
      ['a', [1, 3]],
      ['b', [2]],
    ]);
    // A later turn is a new batch.
    expect(await b.add('a', 4)).toBe(40);
    expect(calls.at(-1)).toEqual(['a', [4]]);
  });

  it('gives every item an error that is not isolated (an outage), without running them again', async () => {
    let runs = 0;
    const outage = new Error('database unavailable');
    const b = new TurnBatch<string, number, number>(
      async () => {
        runs++;
        throw outage;
      },
      () => false,
    );
    const r = await Promise.allSettled([b.add('a', 1), b.add('a', 2)]);
    expect(r.map((x) => (x as PromiseRejectedResult).reason)).toEqual([outage, outage]);
    expect(runs).toBe(1);
  });

  it('runs each item alone after an isolated error, so that only the item at fault fails', async () => {
    const b = new TurnBatch<string, number, number>(
      async (_k, xs) => {
        if (xs.includes(2)) throw new TypeError('bug on 2');
        return xs;
      },
      (err) => err instanceof TypeError,
    );
    const r = await Promise.allSettled([b.add('a', 1), b.add('a', 2), b.add('a', 3)]);
    expect(r.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((r[1] as PromiseRejectedResult).reason).toBeInstanceOf(TypeError);
  });
});
