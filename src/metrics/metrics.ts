import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { EVENT_LOOP_DELAY_BUCKETS } from './event-loop-delay.ts';
import { registerEventLoopLoad } from './event-loop-load.ts';

/**
 * Bounds of `parley_http_request_duration_seconds`, in seconds: 5 ms steps from 10 to 30 ms, where
 * the accept objective (p99 ≤ 25 ms) is read.
 */
export const HTTP_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5,
];

/**
 * Parley's Prometheus metrics. Labels are low-cardinality only (carrier, status, result, cause,
 * command): never a phone number, message id or account id. Never throws.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'parley_' });
  // prom-client names three gauges `_total` (promtool: non-counter metrics should not have the
  // suffix); their per-type gauges (nodejs_active_handles etc.) stay, and sum to the same.
  for (const name of ['handles', 'requests', 'resources'])
    registry.removeSingleMetric(`parley_nodejs_active_${name}_total`);
  registerEventLoopLoad(registry);
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
    eventLoopDelay: new Histogram({
      name: 'parley_event_loop_delay_seconds',
      help: 'How much later than due a 10-ms timer fired on the main thread (sampleEventLoopDelay): cumulative, unlike the nodejs_eventloop_lag gauges, which every render resets',
      buckets: [...EVENT_LOOP_DELAY_BUCKETS],
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
