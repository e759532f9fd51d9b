import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SegmentOutcome } from '../../src/messaging/model.ts';
import type { Db } from '../../src/store/db.ts';
import { DispatchRepo } from '../../src/store/dispatch-repo.ts';

/** A database whose connection (for a transaction or a session) comes `waitMs` after it is asked for (a busy pool). */
function slowDb(waitMs: number, seen: unknown[][]): Db {
  const q = {
    async query(_sql: string, params: unknown[] = []) {
      seen.push(params);
      return { rows: [], rowCount: 0 };
    },
  };
  return {
    kind: 'postgres',
    query: q.query,
    async tx(fn: (x: typeof q) => Promise<unknown>) {
      await new Promise((r) => setTimeout(r, waitMs));
      return fn(q);
    },
    async session(fn: (x: typeof q) => Promise<unknown>) {
      await new Promise((r) => setTimeout(r, waitMs));
      return fn(q);
    },
  } as unknown as Db;
}

describe('deferrals to a set time (regression: held segments came back after their slot, having waited for their write)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('count their delay from when the write is sent, not from when they were decided', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date', 'setTimeout'] });
    const seen: unknown[][] = [];
    const repo = new DispatchRepo(slowDb(300, seen), 'gw-1');
    const decided = Date.now();
    const base = { messageId: '00000000-0000-4000-8000-000000000001', idx: 0, status: 'queued' as const };
    const outcomes: SegmentOutcome[] = [
      {
        ...base,
        delayMs: 1_000,
        dueAt: decided + 1_000,
        reason: 'rate_limited',
        possibleDuplicate: false,
        deferred: true,
      },
      // A retry back-off (no set time) keeps its delay.
      {
        ...base,
        idx: 1,
        delayMs: 1_000,
        reason: 'temporary_error',
        possibleDuplicate: false,
        deferred: false,
      },
      // Due already: no negative delay.
      {
        ...base,
        idx: 2,
        delayMs: 100,
        dueAt: decided + 100,
        reason: 'rate_limited',
        possibleDuplicate: false,
        deferred: true,
      },
    ];
    // On a clock of the test's own: a loaded machine's 300-ms timer may fire much later.
    const applied = repo.applyOutcomes(outcomes);
    await vi.advanceTimersByTimeAsync(300);
    await applied;
    const delays = seen[0]![7] as number[];
    expect(delays[0]).toBeLessThanOrEqual(1_000 - 290);
    expect(delays[0]).toBeGreaterThan(500);
    expect(delays[1]).toBe(1_000);
    expect(delays[2]).toBe(0);
  });
});
