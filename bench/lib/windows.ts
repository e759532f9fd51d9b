/** Sliding one-second windows over submit times, for bench:limits. */

/** The most submits in any window [t, t + span) of `ts` (ascending), and the index it starts at. */
export function worstWindow(ts: readonly number[], span = 1000): { best: number; at: number } {
  let best = 0;
  let at = 0;
  let lo = 0;
  for (let hi = 0; hi < ts.length; hi++) {
    while (ts[hi]! - ts[lo]! >= span) lo++;
    if (hi - lo + 1 > best) {
      best = hi - lo + 1;
      at = lo;
    }
  }
  return { best, at };
}

/**
 * Limits with a sliding second over their allowance (rounded-up rate) among `groups`, by the
 * submit times of `byNumber` (digits, no +) within [from, to): how many, how many by more than
 * one, and one example of the worst window (times relative to its first).
 */
export function overAllowance(
  groups: ReadonlyArray<{ rate: number; capped?: boolean; keys: ReadonlyArray<{ numbers: string[] }> }>,
  byNumber: ReadonlyMap<string, number[]>,
  from: number,
  to: number,
): { over: number; overLoose: number; limits: number; example: string } {
  let over = 0;
  let overLoose = 0;
  let limits = 0;
  let example = '';
  for (const g of groups) {
    const allowance = Math.max(1, Math.ceil(g.rate));
    for (const k of g.keys) {
      limits++;
      const ts = k.numbers
        .flatMap((n) => byNumber.get(n.replace('+', '')) ?? [])
        .filter((t) => t >= from && t < to)
        .sort((x, y) => x - y);
      const { best, at } = worstWindow(ts);
      if (best > allowance) {
        over++;
        if (!example)
          example = `${g.rate}/s: ${ts
            .slice(Math.max(0, at - 2), at + best + 2)
            .map((t) => (t - ts[at]!).toFixed(1))
            .join(' ')}`;
      }
      if (best > allowance + 1) overLoose++;
    }
  }
  return { over, overLoose, limits, example };
}
