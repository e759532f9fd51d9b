import type { AppConfig } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import type { AcceptCandidate } from '../messaging/compose.ts';
import type { EventBus } from '../messaging/events.ts';
import type { ClaimedSegment } from '../messaging/model.ts';
import type { Policy } from '../messaging/pipeline.ts';
import type { Router } from '../messaging/router.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { rateLimitPolicy } from './limits-policy.ts';
import { countOverLimit, type OverLimitSource } from './over-limit.ts';
import { DEFAULT_LIMIT_TABLE, type LimitTable, mergeLimits } from './policy-table.ts';
import type { LimitsStore } from './ports.ts';
import { senderQueuePolicy } from './queue-cap-policy.ts';
import { SlotRateLimiter } from './rate-limiter.ts';
import { DailyReturns, lateWritesOf } from './slot-tickets.ts';

/** What the limits add to a gateway: their policies, and a stop for their connections and counts. */
export interface Limits {
  acceptPolicies: Array<Policy<AcceptCandidate, unknown>>;
  dispatchPolicies: Array<Policy<ClaimedSegment, unknown>>;
  stop(): Promise<void>;
}

/**
 * The rate limits of one gateway: the count of carriers' "over the limit" answers (always), and
 * when limits are on, a slot limiter (in Redis when REDIS_URL is set, so every instance
 * shares each limit), the dispatch policy over it with each carrier's table (defaults, then
 * the operator's overrides, then the carrier's own) and the sender queue cap at accept. Never
 * fails: a Redis that is away shows later as rejected takes, which defer the batch.
 */
export function createLimits(
  config: AppConfig,
  store: LimitsStore & OverLimitSource,
  router: Router,
  deps: { metrics: Metrics; bus: EventBus; log: Logger },
): Limits {
  const { metrics } = deps;
  const overLimit = countOverLimit(deps.bus, store, metrics, deps.log);
  if (!config.rateLimits.enabled)
    return { acceptPolicies: [], dispatchPolicies: [], stop: () => overLimit.stop() };
  const limiter = new SlotRateLimiter(config.redisUrl, config.redisPrefix);
  const base = mergeLimits(DEFAULT_LIMIT_TABLE, config.rateLimits.overrides);
  const tables = new Map<string, LimitTable>(
    config.carriers.map((c) => [c.id, mergeLimits(base, c.rateLimits)]),
  );
  // A slot never written gives its brand's daily cap back (counted when it was reserved).
  const returns = new DailyReturns(store, (err) =>
    deps.log.warn(
      { err: (err as Error).message },
      "unused slots' daily cap not given back; it stays counted",
    ),
  );
  const inner = rateLimitPolicy({
    store,
    limiter,
    tableFor: (carrierId) => tables.get(carrierId) ?? base,
    carrierOf: (seg) => router.pick(seg.numberType, seg.to)?.id,
    onDeferred: (kind, n) => metrics.rateLimited.labels(kind).inc(n),
    onStaleGrants: (n) => metrics.rateLimited.labels('stale_grant').inc(n),
    onUnusedSlots: (tickets) => returns.add(tickets),
    onBacklogWriteFailed: (err) =>
      deps.log.warn(
        { err: (err as Error).message },
        "senders' queue backlog not written; written again on its next move",
      ),
  });
  // How far this instance's clock is from the limiter's: every slot it writes is off by its error.
  const showOffset = () => metrics.limiterClockOffset.set(limiter.clockOffsetMs / 1000);
  showOffset();
  const offsetTimer = setInterval(showOffset, 10_000);
  offsetTimer.unref();
  // A slot written late floors the limits' slot a second after it (on every instance, through Redis).
  const unsubscribe = deps.bus.subscribe('slot.written', (events) => {
    const writes = lateWritesOf(events);
    if (writes.length > 0) void limiter.wroteLate(writes);
  });
  const unsubscribeUnused = deps.bus.subscribe('slot.unused', (events) =>
    returns.add(events.map((e) => e.ticket)),
  );
  const policy: Policy<ClaimedSegment, unknown> = {
    name: inner.name,
    late: true,
    async load(segs) {
      const end = metrics.rateLimitSeconds.startTimer();
      try {
        return await inner.load!(segs);
      } finally {
        end();
      }
    },
    decide: (seg, loaded) => inner.decide(seg, loaded as never),
  };
  return {
    acceptPolicies: [
      senderQueuePolicy(config.rateLimits.senderQueueCapMs) as Policy<AcceptCandidate, unknown>,
    ],
    dispatchPolicies: [policy],
    async stop() {
      unsubscribe();
      unsubscribeUnused();
      await returns.flush();
      clearInterval(offsetTimer);
      await limiter.close();
      await overLimit.stop();
    },
  };
}
