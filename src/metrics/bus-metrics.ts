import { OVER_LIMIT_RECEIPT_CODES } from '../limits/over-limit.ts';
import type { EventBus } from '../messaging/events.ts';
import { REASONS } from '../messaging/vocabulary.ts';
import { statusLabel } from '../smpp/command-status.ts';
import type { Metrics } from './metrics.ts';

const KNOWN_REASONS: ReadonlySet<string> = new Set(REASONS);
/** A reason as a label value: one of ours, `none`, or `other` (the label set stays bounded). */
const reasonLabel = (r: string | null): string => (r === null ? 'none' : KNOWN_REASONS.has(r) ? r : 'other');

/**
 * Counts what the bus reports. Only events of this instance count (origin local): with several
 * instances each exports its own share and Prometheus sums them.
 */
export function subscribeMetrics(m: Metrics, bus: EventBus): () => void {
  const offs = [
    bus.subscribe('message.accepted', (evs, origin) => {
      if (origin !== 'local') return;
      let n = 0;
      for (const e of evs) n += e.count;
      m.accepted.inc(n);
    }),
    bus.subscribe('message.status', (evs, origin) => {
      if (origin !== 'local') return;
      // Counted per label set in nested maps (no key string per message), then one inc each.
      const by = new Map<string, Map<string, Map<string, number>>>();
      let latency: Map<string, number[]> | undefined;
      for (const e of evs) {
        let byReason = by.get(e.status);
        if (!byReason) {
          byReason = new Map();
          by.set(e.status, byReason);
        }
        const reason = reasonLabel(e.reason);
        let byType = byReason.get(reason);
        if (!byType) {
          byType = new Map();
          byReason.set(reason, byType);
        }
        const nt = e.numberType ?? 'unknown';
        byType.set(nt, (byType.get(nt) ?? 0) + 1);
        if (e.sentToFinalSeconds !== undefined) {
          latency ??= new Map();
          const l = latency.get(e.status);
          if (l) l.push(e.sentToFinalSeconds);
          else latency.set(e.status, [e.sentToFinalSeconds]);
        }
      }
      for (const [status, byReason] of by)
        for (const [reason, byType] of byReason)
          for (const [nt, n] of byType) m.statusChanges.labels(status, reason, nt).inc(n);
      // One label look-up per status and batch, not per message.
      for (const [status, values] of latency ?? []) {
        const h = m.receiptLatency.labels(status);
        for (const v of values) h.observe(v);
      }
    }),
    bus.subscribe('message.decided', (evs) => {
      for (const e of evs) m.acceptDecisions.labels(e.decision, reasonLabel(e.reason)).inc(e.count);
    }),
    bus.subscribe('mo.classified', (evs) => {
      for (const e of evs) m.moClassified.labels(e.kind).inc();
    }),
    bus.subscribe('bind.state', (evs) => {
      for (const e of evs) if (e.state === 'backoff') m.reconnects.labels(e.carrierId).inc();
    }),
    bus.subscribe('submit.result', (evs) => {
      for (const e of evs) m.submits.labels(e.carrierId, e.result).inc();
    }),
    bus.subscribe('receipt.received', (evs) => {
      for (const e of evs) {
        m.receipts.labels(e.carrierId, e.state, e.outcome).inc();
        if (e.errorCode && OVER_LIMIT_RECEIPT_CODES.has(e.errorCode))
          m.carrierOverLimit.labels(e.carrierId).inc();
      }
    }),
    bus.subscribe('receipt.unmatched', (evs) => {
      for (const e of evs) m.receiptsUnmatched.labels(e.carrierId, e.cause).inc();
    }),
    bus.subscribe('message.inbound', (evs, origin) => {
      if (origin !== 'local') return;
      for (const e of evs) m.mo.labels(e.carrierId, e.accountId ? 'true' : 'false').inc();
    }),
    bus.subscribe('pdu.rejected', (evs) => {
      for (const e of evs) m.pdusRejected.labels(e.carrierId, e.command).inc();
    }),
    bus.subscribe('slot.written', (evs) => {
      for (const e of evs) m.slotLateness.observe(e.lateMs / 1000);
    }),
    bus.subscribe('segment.deferred', (evs) => {
      for (const e of evs) m.deferred.labels(e.reason).inc(e.count);
    }),
    bus.subscribe('contact.opted_out', (evs, origin) => {
      if (origin !== 'local') return;
      for (const e of evs) m.consent.labels('opt_out', e.source).inc();
    }),
    bus.subscribe('contact.opted_in', (evs, origin) => {
      if (origin !== 'local') return;
      for (const e of evs) m.consent.labels('opt_in', e.source).inc();
    }),
    bus.subscribe('webhook.attempt', (evs) => {
      for (const e of evs) m.webhooks.labels(e.result).inc();
    }),
    bus.subscribe('link.hit', (evs) => {
      for (const e of evs) m.linkRedirects.labels(e.agent).inc();
    }),
    bus.subscribe('link.clicked', (evs) => {
      for (const e of evs) m.linkClicks.labels(e.numberType, e.unique ? 'true' : 'false').inc();
    }),
    bus.subscribe('link.click_lost', (evs) => {
      m.linkClicksLost.inc(evs.length);
    }),
    bus.subscribe('db.write', (evs) => {
      for (const e of evs) {
        const result = e.ok ? 'ok' : 'error';
        m.dbWrite.labels(e.writer, result).observe(e.seconds);
        m.dbWriteItems.labels(e.writer, result).inc(e.items);
      }
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}

/** How long each submit waited for a bind's window; the label child is looked up once per carrier, not per submit. */
export function queueWaitObserver(m: Metrics, carrierId: string): (ms: number) => void {
  const h = m.carrierQueueWait.labels(carrierId);
  return (ms) => h.observe(ms / 1000);
}

/**
 * What a carrier reports for every submit_sm_resp: its latency and command status. The label
 * children are looked up once (per carrier, per status), not per response: this runs per message.
 */
export function submitResponseObserver(
  m: Metrics,
  carrierId: string,
): (ms: number, commandStatus: number) => void {
  const latency = m.submitLatency.labels(carrierId);
  const byStatus = new Map<number, ReturnType<Metrics['submitResponses']['labels']>>();
  return (ms, commandStatus) => {
    latency.observe(ms / 1000);
    let c = byStatus.get(commandStatus);
    if (!c) {
      c = m.submitResponses.labels(carrierId, statusLabel(commandStatus));
      // Bounded: past 64 statuses (an SMSC answering arbitrary ones) they are looked up each time.
      if (byStatus.size < 64) byStatus.set(commandStatus, c);
    }
    c.inc();
  };
}
