import type { AppConfig } from '../config/config.ts';
import type { ClaimedSegment } from '../messaging/model.ts';
import type { Policy } from '../messaging/pipeline.ts';
import type { Router } from '../messaging/router.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { rateLimitPolicy } from './limits-policy.ts';
import { DEFAULT_LIMIT_TABLE, type LimitTable, mergeLimits } from './policy-table.ts';
import type { LimitsStore } from './ports.ts';
import { BottleneckRateLimiter, type RateLimiter } from './rate-limiter.ts';

/**
 * The rate limits of one gateway: a Bottleneck limiter (in Redis when REDIS_URL is set, so every
 * instance shares each reservoir) and the dispatch policy over it, with each carrier's table
 * (defaults, then the operator's overrides, then the carrier's own). Never fails: a Redis that is
 * away shows later as rejected takes, which defer the batch.
 */
export function createLimits(
  config: AppConfig,
  store: LimitsStore,
  router: Router,
  metrics: Metrics,
): { limiter: RateLimiter; policy: Policy<ClaimedSegment, unknown> } {
  const limiter = new BottleneckRateLimiter(config.redisUrl, config.redisPrefix);
  const base = mergeLimits(DEFAULT_LIMIT_TABLE, config.rateLimits.overrides);
  const tables = new Map<string, LimitTable>(
    config.carriers.map((c) => [c.id, mergeLimits(base, c.rateLimits)]),
  );
  const inner = rateLimitPolicy({
    store,
    limiter,
    tableFor: (carrierId) => tables.get(carrierId) ?? base,
    carrierOf: (seg) => router.pick(seg.numberType, seg.to)?.id,
    onDeferred: (kind, n) => metrics.rateLimited.labels(kind).inc(n),
  });
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
  return { limiter, policy };
}
