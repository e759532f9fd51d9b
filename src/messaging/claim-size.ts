/**
 * How many segments the dispatcher claims at a time. A claim is decided whole before the next one
 * starts, so a segment coming back for a rate-limit slot (asked back 470 ms before it) waits for
 * the batch in hand: when deciding a full batch takes long — a bulk load's first decisions on a
 * loaded machine took 200–400 ms for 250 — slow senders miss their slots (bench:limits, the
 * slowest VM: 166–210 gaps of 1.5 spacings or more a run, 70–97 in the first 10 s; claims of 100:
 * 73 and 2). So the size follows the time a full batch's decisions take: halved while they take
 * longer than TARGET_CYCLE_MS, grown back a fifth of the maximum at a time while they take less
 * than half of it (bench's bulk load, limits off or on but not binding: decisions ~10 ms a batch,
 * the size stays at its maximum). Pure.
 */

/** A claim's decisions should take no longer than this. */
export const TARGET_CYCLE_MS = 150;

/** Never fewer than this a claim (a claim's own cost is per statement). */
export const MIN_CLAIM = 25;

/**
 * The next claim's size after one of `size` that got `got` segments, decided in `cycleMs`; `max`
 * is the configured batch. Never throws.
 */
export function nextClaimSize(size: number, max: number, got: number, cycleMs: number): number {
  let n = size;
  if (cycleMs > TARGET_CYCLE_MS && got >= size) n = Math.floor(size / 2);
  else if (cycleMs < TARGET_CYCLE_MS / 2) n = size + Math.ceil(max / 5);
  return Math.min(max, Math.max(Math.min(MIN_CLAIM, max), n));
}
