/**
 * Counts carrier answers that mean "over the limit" per campaign: a submit answered
 * ESME_RTHROTTLED (0x58), and receipts with AT&T's 541 or T-Mobile's 542. A campaign that draws
 * them sends faster than its class allows (or a carrier's limit is lower than our table says).
 * Counted per carrier in metrics at once, per campaign and Pacific day in the database every few
 * seconds (a database that is away loses nothing: the counts wait for the next flush).
 */
import type { Logger } from '../logger.ts';
import type { EventBus } from '../messaging/events.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { pacificDay } from './policy-table.ts';
import type { LimitsStore } from './ports.ts';

/** Receipt error codes that mean the message was refused for exceeding a limit. */
export const OVER_LIMIT_RECEIPT_CODES: ReadonlySet<string> = new Set(['541', '542']);

export interface OverLimitSource {
  /** The sending number of each message (for receipts, which name only the message). */
  sendersOf(messageIds: readonly string[]): Promise<Map<string, string>>;
}

/** Subscribes to the bus (this instance's events only); `stop` flushes what is counted. */
export function countOverLimit(
  bus: EventBus,
  store: LimitsStore & OverLimitSource,
  metrics: Metrics,
  log: Logger,
  flushMs = 5_000,
): { stop(): Promise<void> } {
  const byNumber = new Map<string, number>();
  const byMessage: string[] = [];
  const add = (from: string) => byNumber.set(from, (byNumber.get(from) ?? 0) + 1);
  const offs = [
    bus.subscribe('carrier.over_limit', (evs, origin) => {
      if (origin !== 'local') return;
      for (const e of evs) {
        metrics.carrierOverLimit.labels(e.carrierId).inc();
        add(e.from);
      }
    }),
    bus.subscribe('message.status', (evs, origin) => {
      if (origin !== 'local') return;
      for (const e of evs)
        if (e.errorCode !== null && OVER_LIMIT_RECEIPT_CODES.has(e.errorCode) && byMessage.length < 100_000)
          byMessage.push(e.messageId);
    }),
  ];
  const flush = async () => {
    if (byMessage.length > 0) {
      const ids = byMessage.splice(0);
      try {
        for (const from of (await store.sendersOf(ids)).values()) add(from);
      } catch (err) {
        byMessage.push(...ids);
        throw err;
      }
    }
    if (byNumber.size === 0) return;
    const counts = new Map(byNumber);
    byNumber.clear();
    try {
      const profiles = await store.senderProfiles([...counts.keys()]);
      const perCampaign = new Map<string, number>();
      for (const [from, n] of counts) {
        const c = profiles.get(from)?.campaignId;
        if (c) perCampaign.set(c, (perCampaign.get(c) ?? 0) + n);
      }
      await store.countOverLimit(pacificDay(new Date()), perCampaign);
    } catch (err) {
      for (const [from, n] of counts) byNumber.set(from, (byNumber.get(from) ?? 0) + n);
      throw err;
    }
  };
  let running = Promise.resolve();
  const timer = setInterval(() => {
    running = running
      .then(flush)
      .catch((err: unknown) =>
        log.warn({ err: (err as Error).message }, 'over-limit counts not stored; retrying'),
      );
  }, flushMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      for (const off of offs) off();
      await running;
      await flush().catch(() => undefined);
    },
  };
}
