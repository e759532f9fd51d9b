import { describe, expect, it } from 'vitest';
import { lateFloors, MAX_FLOORS, reserveSlots, settleSlot, withFloors } from '../../src/limits/slots.ts';

// Worked examples of the slot arithmetic at its edges (the property tests in rate-limiter.test.ts
// check the sliding-second bound; these pin which floor is kept, dropped or moves the grid).
const W = { leadMs: 50, horizonMs: 600 };
const limit = (spacingMs: number, allowance = 1) => ({ spacingMs, allowance });

describe('settling a limit (settleSlot)', () => {
  it('keeps the floors above the grid on positions still to come, sorted, and drops the rest', () => {
    const floors = new Map([
      [13, 1_350], // above the grid (1_000 + 3 × 100 = 1_300): kept
      [11, 1_150], // above (1_100): kept
      [12, 1_200], // on the grid exactly: adds nothing
      [9, 5_000], // a position already given
      [14, 1_300], // below the grid (1_400)
    ]);
    expect(settleSlot(1_000, 10, floors, 100)).toEqual({
      next: 1_000,
      seq: 10,
      floors: [
        { pos: 11, at: 1_150 },
        { pos: 13, at: 1_350 },
      ],
    });
  });

  it('keeps a floor MAX_FLOORS ahead; one further ahead moves the grid to it, by the latest such', () => {
    const seq = 7;
    const at = (ahead: number, extra: number) => 1_000 + ahead * 10 + extra;
    const kept = settleSlot(1_000, seq, new Map([[seq + MAX_FLOORS, at(MAX_FLOORS, 5)]]), 10);
    expect(kept).toEqual({ next: 1_000, seq, floors: [{ pos: seq + MAX_FLOORS, at: at(MAX_FLOORS, 5) }] });
    const moved = settleSlot(
      1_000,
      seq,
      new Map([
        [seq + 3, at(3, 40)],
        [seq + MAX_FLOORS + 1, at(MAX_FLOORS + 1, 5)],
        [seq + MAX_FLOORS + 2, at(MAX_FLOORS + 2, 30)],
        [seq + MAX_FLOORS + 3, at(MAX_FLOORS + 3, -20)],
      ]),
      10,
    );
    // The grid moves by the most any of them asks (30 ms); only the near floor still above it stays.
    expect(moved).toEqual({ next: 1_030, seq, floors: [{ pos: seq + 3, at: at(3, 40) }] });
  });

  it('raises a floor with a later one, never lowers it (withFloors)', () => {
    const s = { next: 1_000, seq: 0, floors: [{ pos: 2, at: 1_250 }] };
    expect(withFloors(s, [{ pos: 2, at: 1_240 }], 100).floors).toEqual([{ pos: 2, at: 1_250 }]);
    expect(withFloors(s, [{ pos: 2, at: 1_260 }], 100).floors).toEqual([{ pos: 2, at: 1_260 }]);
    expect(withFloors(s, [{ pos: 1, at: 1_150 }], 100).floors).toEqual([
      { pos: 1, at: 1_150 },
      { pos: 2, at: 1_250 },
    ]);
  });
});

describe('reserving slots (reserveSlots)', () => {
  // One limit a slot every 100 ms, its grid at 1_000, asked at 900 with a second's horizon.
  const timesWith = (floors: Array<{ pos: number; at: number }>, want: number, allowance = 1) =>
    reserveSlots([{ next: 1_000, seq: 0, floors }], [limit(100, allowance)], 900, want, {
      leadMs: 50,
      horizonMs: 1_000,
    }).times;

  it('never brings a slot before its grid time, whatever floor a state carries', () => {
    // A floor under the grid (a state written by another version, say) is no earlier slot.
    expect(timesWith([{ pos: 1, at: 1_010 }], 3)).toEqual([1_000, 1_100, 1_200]);
  });

  it('holds a slot to its floor, and floors the slot an allowance after it by as much', () => {
    // Slot 1 held to 1_130; slot 3 (two after it) no sooner than 1_130 + 2 × 100.
    expect(timesWith([{ pos: 1, at: 1_130 }], 4, 2)).toEqual([1_000, 1_130, 1_200, 1_330]);
  });

  it('keeps the later of two floors a held-back slot and the state put on one position', () => {
    // Slot 0 is held to 1_100 and floors position 1 at 1_200; the state's own floor there is later.
    const held = { pos: 0, at: 1_100 };
    expect(timesWith([held, { pos: 1, at: 1_260 }], 2)).toEqual([1_100, 1_260]);
    expect(timesWith([held, { pos: 1, at: 1_150 }], 2)).toEqual([1_100, 1_200]);
  });

  it('gives a limit never asked for its first slot at the lead', () => {
    const r = reserveSlots([{ next: 0, seq: 0, floors: [] }], [limit(2_500)], 10_000, 2, W);
    expect(r.times).toEqual([10_050]);
    expect(r.nextAt).toBe(12_550);
  });
});

describe('late writes (lateFloors)', () => {
  it('keeps the latest floor per position of each limit', () => {
    const marks = { keys: ['a'], spacings: [100], allowances: [1], firstPos: [5], refs: [1_000, 1_100] };
    const out = lateFloors([
      { marks, index: 0, lateMs: 30 },
      { marks, index: 0, lateMs: 10 },
      { marks, index: 1, lateMs: 20 },
    ]);
    expect(out.get('a')).toEqual({
      spacing: 100,
      floors: [
        { pos: 6, at: 1_130 },
        { pos: 7, at: 1_220 },
      ],
    });
  });
});
