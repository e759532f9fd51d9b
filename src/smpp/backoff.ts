export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  multiplier: number;
}

/**
 * Delay before attempt `attempt` (0-based) with "full jitter" (AWS architecture blog): uniform in
 * [0, min(max, initial·multiplier^attempt)], floored at a tenth of the cap so a storm of binds
 * never reconnects in the same millisecond. `random` is injectable for deterministic tests.
 */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.max(0, attempt));
  const floor = cap / 10;
  return Math.round(floor + random() * (cap - floor));
}

export interface AimdState {
  /** Submits per second allowed now; Infinity when the SMSC has never throttled us. */
  rate: number;
  /** When the last decrease happened (ms), to ignore the echo of one overload burst. */
  lastDecreaseAt: number;
}

export interface AimdPolicy {
  /** Never pace below this rate. */
  minRate: number;
  /** Rate gained per second without throttling (additive increase). */
  increasePerSecond: number;
  /** Factor applied on throttle (multiplicative decrease). */
  decreaseFactor: number;
  /** Throttle responses within this long after a decrease belong to the same burst. */
  holdMs: number;
  /** Configured ceiling; above it (or at Infinity) pacing is off. */
  maxRate: number;
}

/**
 * Multiplicative decrease on a throttle signal. `observedRate` is the rate that drew the throttle;
 * it stands in for the current rate when pacing was off.
 */
export function aimdDecrease(s: AimdState, p: AimdPolicy, observedRate: number, now: number): AimdState {
  if (now - s.lastDecreaseAt < p.holdMs) return s;
  const base = Number.isFinite(s.rate) ? Math.min(s.rate, Math.max(observedRate, p.minRate)) : observedRate;
  return { rate: Math.max(p.minRate, base * p.decreaseFactor), lastDecreaseAt: now };
}

/** Additive increase over `elapsedMs` without throttling; back to Infinity past the ceiling. */
export function aimdIncrease(s: AimdState, p: AimdPolicy, elapsedMs: number): AimdState {
  if (!Number.isFinite(s.rate)) return s;
  const rate = s.rate + (p.increasePerSecond * elapsedMs) / 1000;
  return { rate: rate >= p.maxRate ? Number.POSITIVE_INFINITY : rate, lastDecreaseAt: s.lastDecreaseAt };
}
