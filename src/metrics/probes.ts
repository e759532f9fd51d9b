/**
 * What /health/ready and /metrics read from the running gateway: readiness of the database,
 * Redis and each carrier's binds, and the carrier gauges sampled on scrape (cheap, in memory).
 */
import type { Readiness } from '../http/server.ts';
import type { EventBus } from '../messaging/events.ts';
import type { Carrier } from '../smpp/carrier.ts';
import type { Db } from '../store/db.ts';
import { RedisBus } from '../store/redis-bus.ts';
import type { Metrics } from './metrics.ts';

/** Readiness: never rejects (a failed check reads false). */
export function readinessOf(db: Db, bus: EventBus, carriers: readonly Carrier[]): () => Promise<Readiness> {
  return async () => {
    const database = await db.query('SELECT 1').then(
      () => true,
      () => false,
    );
    const out: Readiness = { database, carriers: {} };
    if (bus instanceof RedisBus) out.redis = await bus.ready();
    for (const c of carriers)
      out.carriers[c.id] = {
        healthy: c.healthyTransmitters,
        bound: c.boundTransmitters,
        receivers: c.healthyReceivers,
        binds: c.binds.length,
      };
    return out;
  };
}

/** Bind states, carrier queues, window occupancy and in-flight counts into their gauges. */
export function sampleCarrierGauges(
  metrics: Metrics,
  carriers: readonly Carrier[],
  pending: { dispatchInFlight: number; inboundPending: number },
): void {
  metrics.binds.reset();
  for (const c of carriers) {
    let inFlight = 0;
    let window = 0;
    for (const b of c.binds) {
      metrics.binds
        .labels(c.id, b.currentState === 'bound' && !b.healthy ? 'unhealthy' : b.currentState)
        .inc();
      inFlight += b.inFlight;
      if (b.mode !== 'rx' && b.currentState === 'bound') window += c.cfg.windowSize;
    }
    metrics.carrierQueue.labels(c.id).set(c.queued);
    // A carrier that never reconnected reads 0 rather than having no series (rate() needs one).
    metrics.reconnects.labels(c.id).inc(0);
    metrics.windowInFlight.labels(c.id).set(inFlight);
    metrics.windowSize.labels(c.id).set(window);
  }
  metrics.dispatchInFlight.set(pending.dispatchInFlight);
  metrics.inboundPending.set(pending.inboundPending);
}
