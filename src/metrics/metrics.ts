import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { OVER_LIMIT_RECEIPT_CODES } from '../limits/over-limit.ts';
import type { EventBus } from '../messaging/events.ts';
import { REASONS } from '../messaging/vocabulary.ts';
import { statusLabel } from '../smpp/command-status.ts';

const KNOWN_REASONS: ReadonlySet<string> = new Set(REASONS);
/** A reason as a label value: one of ours, `none`, or `other` (the label set stays bounded). */
const reasonLabel = (r: string | null): string => (r === null ? 'none' : KNOWN_REASONS.has(r) ? r : 'other');

/**
 * Parley's Prometheus metrics. Labels are low-cardinality only (carrier, status, result, cause,
 * command): never a phone number, message id or account id.
 */
/**
 * Bounds of `parley_http_request_duration_seconds`, in seconds: 5 ms steps from 10 to 30 ms, where
 * the accept objective (p99 ≤ 25 ms) is read.
 */
export const HTTP_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5,
];

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'parley_' });
  // prom-client names three gauges `_total` (promtool: non-counter metrics should not have the
  // suffix); their per-type gauges (nodejs_active_handles etc.) stay, and sum to the same.
  for (const name of ['handles', 'requests', 'resources'])
    registry.removeSingleMetric(`parley_nodejs_active_${name}_total`);
  const r = [registry];
  return {
    registry,
    accepted: new Counter({
      name: 'parley_messages_accepted_total',
      help: 'Messages committed to the database by the API',
      registers: r,
    }),
    statusChanges: new Counter({
      name: 'parley_message_status_total',
      help: 'Message status transitions, by new status, reason (none: no reason; other: not ours) and number type',
      labelNames: ['status', 'reason', 'number_type'],
      registers: r,
    }),
    submits: new Counter({
      name: 'parley_segments_submit_total',
      help: 'submit_sm attempts by result (ok, or the SMPP-level outcome code)',
      labelNames: ['carrier', 'result'],
      registers: r,
    }),
    receipts: new Counter({
      name: 'parley_receipts_total',
      help: 'Delivery receipts received, by state and what became of them (applied, parked, intermediate)',
      labelNames: ['carrier', 'state', 'outcome'],
      registers: r,
    }),
    receiptsUnmatched: new Counter({
      name: 'parley_receipts_unmatched_total',
      help: 'Receipts that matched no sent segment: within their TTL (ttl) or unusable (invalid)',
      labelNames: ['carrier', 'cause'],
      registers: r,
    }),
    mo: new Counter({
      name: 'parley_mo_total',
      help: 'Inbound messages stored (attributed to an account or not)',
      labelNames: ['carrier', 'attributed'],
      registers: r,
    }),
    pdusRejected: new Counter({
      name: 'parley_smpp_pdus_rejected_total',
      help: 'PDUs from an SMSC answered with an error status (malformed body); the session was kept',
      labelNames: ['carrier', 'command'],
      registers: r,
    }),
    submitLatency: new Histogram({
      name: 'parley_smpp_submit_response_seconds',
      help: 'submit_sm to submit_sm_resp time',
      labelNames: ['carrier'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    }),
    carrierQueueWait: new Histogram({
      name: 'parley_carrier_queue_wait_seconds',
      help: 'Time a submit waited for room in a bind window before it was first written',
      labelNames: ['carrier'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    }),
    binds: new Gauge({
      name: 'parley_smpp_binds',
      help: 'SMPP binds by state (bound, unhealthy, connecting, backoff, ...)',
      labelNames: ['carrier', 'state'],
      registers: r,
    }),
    carrierQueue: new Gauge({
      name: 'parley_carrier_queue_depth',
      help: 'Submits waiting for a bind',
      labelNames: ['carrier'],
      registers: r,
    }),
    dispatchInFlight: new Gauge({
      name: 'parley_dispatch_in_flight',
      help: 'Segments claimed and not yet written back',
      registers: r,
    }),
    inboundPending: new Gauge({
      name: 'parley_inbound_pending',
      help: 'Receipts and MO read from SMSCs and not yet stored',
      registers: r,
    }),
    deferred: new Counter({
      name: 'parley_segments_deferred_total',
      help: 'Segments dispatch sent back to wait in the database, by reason (quiet_hours, rate_limited, no_carrier_bound, ...)',
      labelNames: ['reason'],
      registers: r,
    }),
    consent: new Counter({
      name: 'parley_consent_changes_total',
      help: 'Contacts opting out or in (committed), by change and source (keyword, phrase, api, import)',
      labelNames: ['change', 'source'],
      registers: r,
    }),
    rateLimited: new Counter({
      name: 'parley_rate_limited_segments_total',
      help: 'Segments held back (deferred in the database) by a contractual limit (number, campaign, brand_daily) or because their grant went stale before the batch was decided (stale_grant)',
      labelNames: ['limit'],
      registers: r,
    }),
    rateLimitSeconds: new Histogram({
      name: 'parley_rate_limit_duration_seconds',
      help: 'Time the rate-limit policy took per dispatched batch (limiter and daily-cap round trips included)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: r,
    }),
    limiterClockOffset: new Gauge({
      name: 'parley_rate_limiter_clock_offset_seconds',
      help: "The shared rate limiter's clock (Redis's) minus this instance's, as measured; slots are written by it (0 without Redis)",
      registers: r,
    }),
    slotLateness: new Histogram({
      name: 'parley_send_slot_lateness_seconds',
      help: 'How long after its send slot a rate-limited segment was written (0 when on time); past 5 ms its limits move their later slots by the rest',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.2],
      registers: r,
    }),
    carrierOverLimit: new Counter({
      name: 'parley_carrier_over_limit_total',
      help: 'Carrier answers meaning "over the limit" (submit 0x58, receipt error 541 or 542), by carrier',
      labelNames: ['carrier'],
      registers: r,
    }),
    webhooks: new Counter({
      name: 'parley_webhook_deliveries_total',
      help: 'Status callback attempts by result (delivered, failed, blocked, abandoned)',
      labelNames: ['result'],
      registers: r,
    }),
    receiptLatency: new Histogram({
      name: 'parley_message_final_latency_seconds',
      help: 'From the SMSC taking a message (submit_sm_resp) to its final status (receipt), by final status',
      labelNames: ['status'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200],
      registers: r,
    }),
    acceptDecisions: new Counter({
      name: 'parley_accept_decisions_total',
      help: 'Messages a policy refused at accept (the API answered 4xx) or deferred (stored to wait), by reason',
      labelNames: ['decision', 'reason'],
      registers: r,
    }),
    moClassified: new Counter({
      name: 'parley_mo_classified_total',
      help: 'Attributed MO by kind: a plain message, or an opt_out, opt_in or help keyword (review: a phrase to check)',
      labelNames: ['kind'],
      registers: r,
    }),
    reconnects: new Counter({
      name: 'parley_smpp_reconnects_total',
      help: 'Binds that lost their session or failed to bind and were scheduled to reconnect, by carrier',
      labelNames: ['carrier'],
      registers: r,
    }),
    submitResponses: new Counter({
      name: 'parley_smpp_submit_responses_total',
      help: 'submit_sm_resp by command_status name (ESME_ROK, ESME_RTHROTTLED, …; other: not in SMPP 3.4)',
      labelNames: ['carrier', 'command_status'],
      registers: r,
    }),
    windowInFlight: new Gauge({
      name: 'parley_smpp_window_in_flight',
      help: "submit_sm awaiting their response, summed over the carrier's binds",
      labelNames: ['carrier'],
      registers: r,
    }),
    windowSize: new Gauge({
      name: 'parley_smpp_window_size',
      help: "The window (outstanding submits allowed) summed over the carrier's bound transmitters",
      labelNames: ['carrier'],
      registers: r,
    }),
    queueSegments: new Gauge({
      name: 'parley_queue_segments',
      help: 'Segments waiting in the database by number type: due now, or later (scheduled, deferred)',
      labelNames: ['number_type', 'state'],
      registers: r,
    }),
    queueOldestDue: new Gauge({
      name: 'parley_queue_oldest_due_age_seconds',
      help: 'How long the oldest due segment has been due, by number type',
      labelNames: ['number_type'],
      registers: r,
    }),
    receiptsParked: new Gauge({
      name: 'parley_receipts_parked',
      help: 'Receipts waiting for their segment (kept until the park TTL, then counted unmatched)',
      registers: r,
    }),
    webhooksPending: new Gauge({
      name: 'parley_webhook_pending',
      help: 'Status callbacks not yet delivered nor abandoned',
      registers: r,
    }),
    webhookOldestPending: new Gauge({
      name: 'parley_webhook_oldest_pending_age_seconds',
      help: 'Age of the oldest status callback not yet delivered nor abandoned',
      registers: r,
    }),
    linkRedirects: new Counter({
      name: 'parley_link_redirects_total',
      help: 'Short links followed, by client class (bot: link previews and crawlers, not counted as clicks)',
      labelNames: ['agent'],
      registers: r,
    }),
    linkClicks: new Counter({
      name: 'parley_link_clicks_total',
      help: "Clicks counted on short links (committed), by whether it was the link's first (unique)",
      labelNames: ['number_type', 'unique'],
      registers: r,
    }),
    linkClicksLost: new Counter({
      name: 'parley_link_clicks_lost_total',
      help: 'Link clicks that could not be recorded (database unavailable); the visitor was redirected',
      registers: r,
    }),
    dbWrite: new Histogram({
      name: 'parley_db_write_duration_seconds',
      help: 'Batched database writes (one round trip each) by writer and result; a slow database shows here first',
      labelNames: ['writer', 'result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    }),
    dbWriteItems: new Counter({
      name: 'parley_db_write_items_total',
      help: 'Items (messages, outcomes, receipts, MO) written by the batched writers, by writer and result',
      labelNames: ['writer', 'result'],
      registers: r,
    }),
    httpDuration: new Histogram({
      name: 'parley_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['route', 'method', 'status_class'],
      // Fine around the accept objective (p99 ≤ 25 ms at 2,000/s): with only 10/25/50 ms bounds a
      // p99 of 26 ms and one of 49 ms read the same, "≤ 50 ms".
      buckets: [...HTTP_DURATION_BUCKETS],
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

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
