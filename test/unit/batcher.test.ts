import { describe, expect, it } from 'vitest';
import { Batcher, BatcherFullError } from '../../src/store/batcher.ts';

describe('Batcher', () => {
  it('coalesces concurrent adds into one flush and settles each caller', async () => {
    const flushes: number[][] = [];
    const b = new Batcher<number, number>(
      async (xs) => {
        flushes.push(xs);
        return xs.map((x) => x * 2);
      },
      { maxItems: 100, maxDelayMs: 5, concurrency: 1 },
    );
    expect(await Promise.all([1, 2, 3].map((x) => b.add(x)))).toEqual([2, 4, 6]);
    expect(flushes).toEqual([[1, 2, 3]]);
  });
  it('flushes at maxItems, keeps addAll together when it fits, rejects every caller of a failed flush', async () => {
    const sizes: number[] = [];
    const b = new Batcher<number, number>(
      async (xs) => {
        sizes.push(xs.length);
        if (xs.includes(-1)) throw new Error('db down');
        return xs;
      },
      { maxItems: 3, maxDelayMs: 50, concurrency: 2 },
    );
    await Promise.all([b.add(1), b.add(2), b.add(3)]);
    expect(sizes).toEqual([3]);
    const all = await b.addAll([4, 5]);
    expect(all.map((r) => r.status === 'fulfilled' && r.value)).toEqual([4, 5]);
    await expect(Promise.all([b.add(9), b.add(-1)])).rejects.toThrow('db down');
    await b.drain();
  });
  // Regression (issue 6): one item the database refused failed the whole shared batch.
  it('isolates the items whose data the database refuses; every other item is written', async () => {
    const written: number[] = [];
    let flushes = 0;
    const b = new Batcher<number, number>(
      async (xs) => {
        flushes++;
        if (xs.some((x) => x < 0)) throw Object.assign(new Error('invalid byte sequence'), { code: '22021' });
        written.push(...xs);
        return xs;
      },
      {
        maxItems: 1000,
        maxDelayMs: 5,
        concurrency: 1,
        isolate: (e) => (e as { code?: string }).code === '22021',
      },
    );
    const items = Array.from({ length: 600 }, (_, i) => (i === 137 || i === 400 ? -i : i));
    const settled = await Promise.allSettled(items.map((x) => b.add(x)));
    expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(2);
    expect(settled[137]!.status).toBe('rejected');
    expect(written.sort((a, c) => a - c)).toEqual(items.filter((x) => x >= 0));
    expect(b.isolated).toBe(2);
    expect(flushes).toBeLessThan(50);
  });
  it('does not isolate when the database is unavailable: everyone gets the error', async () => {
    const b = new Batcher<number, number>(
      async () => {
        throw Object.assign(new Error('Connection terminated'), {});
      },
      { maxItems: 10, maxDelayMs: 1, concurrency: 1, isolate: () => false },
    );
    const r = await Promise.allSettled([b.add(1), b.add(2)]);
    expect(r.every((x) => x.status === 'rejected')).toBe(true);
  });
  it('refuses at once above maxPending, so memory stays bounded', async () => {
    let release: () => void = () => undefined;
    const b = new Batcher<number, number>(
      (xs) =>
        new Promise((r) => {
          release = () => r(xs);
        }),
      { maxItems: 2, maxDelayMs: 1, concurrency: 1, maxPending: 4 },
    );
    const ps = [b.add(1), b.add(2), b.add(3), b.add(4)];
    expect(b.pending).toBe(4);
    await expect(b.add(5)).rejects.toBeInstanceOf(BatcherFullError);
    await expect(b.addAll([6, 7])).rejects.toBeInstanceOf(BatcherFullError);
    for (let i = 0; i < 5 && b.pending > 0; i++) {
      release();
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(ps);
    expect(b.pending).toBe(0);
  });
});
