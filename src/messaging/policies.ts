/**
 * The first policies: today's rules, moved into the pipeline. At accept: the schedule window
 * (a future sendAt defers the message). At dispatch: validity (expired messages end), destination
 * back-off (an SMSC queue full for one destination) and a bound carrier (none: wait).
 */
import { backoffDelay } from '../smpp/backoff.ts';
import type { AcceptCandidate } from './compose.ts';
import { MAX_SCHEDULE_MS } from './compose.ts';
import type { ClaimedSegment } from './model.ts';
import { ALLOW, type Decision, type Policy } from './pipeline.ts';
import type { Router } from './router.ts';

/** Accept: a sendAt beyond the schedule horizon is refused; a future one defers the message until then. */
export const schedulePolicy: Policy<AcceptCandidate> = {
  name: 'schedule',
  decide(c): Decision {
    if (!c.sendAt) return ALLOW;
    if (c.sendAt.getTime() > c.now.getTime() + MAX_SCHEDULE_MS)
      return {
        kind: 'reject',
        code: 'INVALID_SEND_AT',
        message: 'sendAt may be at most 35 days ahead',
        status: 'rejected',
        reason: 'scheduled',
      };
    if (c.sendAt.getTime() <= c.now.getTime()) return ALLOW;
    return { kind: 'defer', until: c.sendAt, reason: 'scheduled' };
  },
};

/** Dispatch: a segment past its validity is not submitted; it ends `expired`. */
export const validityPolicy: Policy<ClaimedSegment, number> = {
  name: 'validity',
  load: async () => Date.now(),
  decide(seg, now): Decision {
    if (seg.expiresAt.getTime() > now) return ALLOW;
    return {
      kind: 'reject',
      code: 'VALIDITY_EXPIRED',
      message: 'not submitted before its validity ran out',
      status: 'expired',
      reason: 'validity_expired',
    };
  },
};

/**
 * Destinations whose SMSC queue is full (ESME_RMSGQFUL): messages to them wait with exponential
 * back-off per destination while the bind carries everyone else at full pace. Bounded: the
 * oldest entry goes when `maxEntries` is reached.
 */
export class DestinationBackoff {
  private readonly entries = new Map<string, { until: number; hits: number }>();

  constructor(
    private readonly policy = { initialMs: 200, maxMs: 30_000, multiplier: 2 },
    private readonly maxEntries = 100_000,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The destination answered queue-full: it waits, longer each time. Returns the wait in ms. */
  hit(to: string, now = Date.now()): number {
    const e = this.entries.get(to);
    const hits = (e?.hits ?? 0) + 1;
    const wait = backoffDelay(this.policy, hits - 1);
    this.entries.delete(to);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(to, { until: now + wait, hits });
    return wait;
  }

  /** A submit to the destination went through: its back-off is over. */
  clear(to: string): void {
    this.entries.delete(to);
  }

  /** Until when messages to `to` wait (undefined: they may go now). */
  until(to: string, now = Date.now()): number | undefined {
    const e = this.entries.get(to);
    return e && e.until > now ? e.until : undefined;
  }

  policyFor(): Policy<ClaimedSegment, number> {
    return {
      name: 'destination-backoff',
      load: async () => Date.now(),
      decide: (seg, now) => {
        if (this.entries.size === 0) return ALLOW;
        const until = this.until(seg.to, now);
        return until === undefined
          ? ALLOW
          : { kind: 'defer', until: new Date(until), reason: 'destination_busy' };
      },
    };
  }
}

/** Dispatch: no carrier of the segment's route is bound: it waits (then retries until validity ends). */
export function carrierAvailablePolicy(router: Router, waitMs = 1_000): Policy<ClaimedSegment, number> {
  return {
    name: 'carrier-available',
    load: async () => Date.now(),
    decide(seg, now): Decision {
      if (router.pick(seg.numberType, seg.to)) return ALLOW;
      return { kind: 'defer', until: new Date(now + waitMs), reason: 'no_carrier_bound' };
    },
  };
}
