/**
 * The sender queue cap at accept: a number whose rate-limited queue already reaches further
 * ahead than the cap (by default four hours of its rate) takes no more; the API answers 429
 * SENDER_QUEUE_FULL with Retry-After (when the queue will be back under the cap).
 */
import type { AcceptCandidate } from '../messaging/compose.ts';
import { ALLOW, type Decision, type Policy } from '../messaging/pipeline.ts';

/** `capMs`: how far ahead a sender's queue may reach. */
export function senderQueuePolicy(capMs: number): Policy<AcceptCandidate> {
  return {
    name: 'sender-queue',
    decide(c): Decision {
      const until = c.senderBacklogUntil?.getTime();
      if (until === undefined) return ALLOW;
      const over = until - c.now.getTime() - capMs;
      if (over <= 0) return ALLOW;
      return {
        kind: 'reject',
        code: 'SENDER_QUEUE_FULL',
        message: `the queue of ${c.from} reaches ${Math.round((until - c.now.getTime()) / 60_000)} minutes ahead (cap ${Math.round(capMs / 60_000)})`,
        status: 'rejected',
        reason: 'rate_limited',
        retryAfterMs: over,
      };
    },
  };
}
