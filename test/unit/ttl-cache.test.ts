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

  it('loads an expired key once however many callers ask for it at that instant (regression: a herd of loads per request every TTL)', async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const c = new TtlBatchCache<number>(async (keys) => {
      calls++;
      await gate;
      return new Map(keys.map((k) => [k, calls]));
    }, 1_000);
    const many = Array.from({ length: 50 }, () => c.get(['acct'], 0));
    release();
    const got = await Promise.all(many);
    expect(calls).toBe(1);
    expect(got.every((m) => m.get('acct') === 1)).toBe(true);
  });

  it('answers a key past 3/4 of its TTL from the cache and refreshes it in the background, never answering a value older than the TTL', async () => {
    let version = 0;
    const loads: number[] = [];
    const c = new TtlBatchCache<number>(async (keys) => {
      loads.push(keys.length);
      return new Map(keys.map((k) => [k, ++version]));
    }, 1_000);
    expect((await c.get(['k'], 0)).get('k')).toBe(1);
    expect((await c.get(['k'], 500)).get('k')).toBe(1);
    expect(loads).toHaveLength(1);
    // Past 750 ms: the cached value is answered at once and one refresh starts.
    expect((await c.get(['k'], 800)).get('k')).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(loads).toHaveLength(2);
    expect((await c.get(['k'], 900)).get('k')).toBe(2);
    // A value is never older than the TTL: at 800 + 1000 the refreshed entry has expired and is loaded.
    expect((await c.get(['k'], 1_800)).get('k')).toBe(3);
  });

  it('rejects every caller sharing a failed load, leaves nothing unhandled, and a failed background refresh keeps the entry until its TTL', async () => {
    let fail = false;
    const c = new TtlBatchCache<number>(async (keys) => {
      if (fail) throw new Error('db away');
      return new Map(keys.map((k) => [k, 7]));
    }, 1_000);
    fail = true;
    const a = c.get(['x'], 0);
    const b = c.get(['x', 'y'], 0);
    await expect(a).rejects.toThrow('db away');
    await expect(b).rejects.toThrow('db away');
    fail = false;
    expect((await c.get(['x'], 10)).get('x')).toBe(7);
    fail = true;
    expect((await c.get(['x'], 900)).get('x')).toBe(7);
    await new Promise((r) => setImmediate(r));
    expect((await c.get(['x'], 950)).get('x')).toBe(7);
    await expect(c.get(['x'], 1_010)).rejects.toThrow('db away');
  });

  it('does not keep a value loaded before an invalidation that came while it loaded', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let n = 0;
    const c = new TtlBatchCache<number>(async (keys) => {
      n++;
      if (n === 1) await gate;
      return new Map(keys.map((k) => [k, n]));
    }, 1_000);
    const first = c.get(['k'], 0);
    c.invalidate('k');
    release();
    expect((await first).get('k')).toBe(1);
    expect((await c.get(['k'], 1)).get('k')).toBe(2);
  });
});
