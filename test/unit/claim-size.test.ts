import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MIN_CLAIM, nextClaimSize, TARGET_CYCLE_MS } from '../../src/messaging/claim-size.ts';

describe('the claim size (regression: slow senders missed their slots while a bulk load was decided 250 at a time in 200–400 ms)', () => {
  it('halves while full claims take longer than the target, down to the floor', () => {
    let size = 250;
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      size = nextClaimSize(size, 250, size, 300);
      seen.push(size);
    }
    expect(seen).toEqual([125, 62, 31, MIN_CLAIM, MIN_CLAIM, MIN_CLAIM]);
  });

  it('grows back a fifth of the maximum at a time while claims are quick, up to the maximum', () => {
    let size = MIN_CLAIM;
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      size = nextClaimSize(size, 250, size, 20);
      seen.push(size);
    }
    expect(seen).toEqual([75, 125, 175, 225, 250, 250]);
  });

  it('leaves the size alone for a claim that was not full (the queue, not the claim, was short) or in between', () => {
    expect(nextClaimSize(250, 250, 40, 400)).toBe(250);
    expect(nextClaimSize(100, 250, 100, TARGET_CYCLE_MS - 1)).toBe(100);
    // The bounds themselves: at the target it is not halved, at half of it not grown.
    expect(nextClaimSize(100, 250, 100, TARGET_CYCLE_MS)).toBe(100);
    expect(nextClaimSize(100, 250, 100, TARGET_CYCLE_MS / 2)).toBe(100);
    expect(nextClaimSize(100, 250, 100, TARGET_CYCLE_MS / 2 - 0.001)).toBe(150);
  });

  it('stays within [min(floor, max), max] whatever it is told', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        (max, size, got, ms) => {
          const n = nextClaimSize(Math.min(size, max), max, got, ms);
          expect(n).toBeLessThanOrEqual(max);
          expect(n).toBeGreaterThanOrEqual(Math.min(MIN_CLAIM, max));
          expect(Number.isInteger(n)).toBe(true);
        },
      ),
    );
  });
});
