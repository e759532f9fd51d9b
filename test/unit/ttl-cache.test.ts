import { describe, expect, it } from 'vitest';
import { TtlBatchCache } from '../../src/messaging/ttl-cache.ts';

describe('TtlBatchCache', () => {
  it('keeps keys the loader does not know as their fallback, so they are not asked about again within the ttl', async () => {
    const loads: string[][] = [];
    const c = new TtlBatchCache<string | null>(
      async (keys) => {
        loads.push([...keys]);
        return new Map(keys.filter((k) => k !== 'ghost').map((k) => [k, k.toUpperCase()]));
      },
      1_000,
      100,
      () => null,
    );
    expect([...(await c.get(['a', 'ghost'], 0))]).toEqual([
      ['a', 'A'],
      ['ghost', null],
    ]);
    await c.get(['ghost', 'a'], 500);
    expect(loads).toEqual([['a', 'ghost']]);
    await c.get(['ghost'], 1_000);
    expect(loads[1]).toEqual(['ghost']);
  });

  it('leaves unknown keys out without a fallback, and a failed load caches nothing', async () => {
    let fail = true;
    const c = new TtlBatchCache<number>(async (keys) => {
      if (fail) throw new Error('db away');
      return new Map(keys.filter((k) => k === 'one').map((k) => [k, 1]));
    }, 1_000);
    await expect(c.get(['one'], 0)).rejects.toThrow('db away');
    fail = false;
    expect([...(await c.get(['one', 'two'], 1))]).toEqual([['one', 1]]);
  });
});
