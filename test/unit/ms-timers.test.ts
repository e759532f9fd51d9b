import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MsTimers } from '../../src/messaging/ms-timers.ts';

describe('MsTimers (paced segments waiting for their slot)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('takes one timer per millisecond, runs in the order added, never before the time', () => {
    const t = new MsTimers();
    const ran: Array<[string, number]> = [];
    const at = (name: string) => () => ran.push([name, Date.now()]);
    // 250 slots microseconds apart within one millisecond, as a limit that does not bind gives.
    for (let i = 0; i < 250; i++) t.add(1_000_050 + i * 0.001, at(`a${i}`));
    t.add(1_000_051.2, at('b'));
    t.add(1_000_050.0, at('c'));
    expect(vi.getTimerCount()).toBe(3);
    expect(t.size).toBe(252);
    vi.advanceTimersByTime(49);
    expect(ran).toEqual([]);
    vi.advanceTimersByTime(1);
    // 1_000_050.000 rounds to its own millisecond; the rest of a's slots to the next one.
    expect(ran.map((r) => r[0])).toEqual(['a0', 'c']);
    vi.advanceTimersByTime(1);
    expect(ran.slice(2).map((r) => r[0])).toEqual(Array.from({ length: 249 }, (_, i) => `a${i + 1}`));
    vi.advanceTimersByTime(1);
    expect(ran.at(-1)).toEqual(['b', 1_000_052]);
    for (const [name, when] of ran) {
      const due =
        name === 'b' ? 1_000_051.2 : name === 'c' ? 1_000_050 : 1_000_050 + Number(name.slice(1)) * 0.001;
      expect(when, name).toBeGreaterThanOrEqual(due);
    }
    expect(t.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a time already past still waits a turn (a timer of at least 1 ms), never runs inline', () => {
    const t = new MsTimers();
    const fn = vi.fn();
    t.add(Date.now() - 500, fn);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('a callback that throws does not keep the others of its millisecond from running', () => {
    const t = new MsTimers();
    const ran: number[] = [];
    t.add(Date.now() + 5, () => ran.push(1));
    t.add(Date.now() + 5, () => {
      throw new Error('boom');
    });
    t.add(Date.now() + 5, () => ran.push(3));
    expect(() => vi.advanceTimersByTime(5)).toThrow('boom');
    expect(ran).toEqual([1, 3]);
    expect(t.size).toBe(0);
  });
});
