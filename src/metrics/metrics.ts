import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Parley's Prometheus metrics. Labels are low-cardinality only (carrier, status, result):
 * never a phone number, message id or account id.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'parley_process_' });
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
      help: 'Message status transitions, by new status',
      labelNames: ['status'],
      registers: r,
    }),
    submits: new Counter({
      name: 'parley_segments_submit_total',
      help: 'Segment submit attempts by result',
      labelNames: ['carrier', 'result'],
      registers: r,
    }),
    receipts: new Counter({
      name: 'parley_receipts_total',
      help: 'Delivery receipts received, by state',
      labelNames: ['carrier', 'state'],
      registers: r,
    }),
    receiptsUnmatched: new Counter({
      name: 'parley_receipts_unmatched_total',
      help: 'Receipts that matched no sent segment within the parking TTL',
      registers: r,
    }),
    mo: new Counter({
      name: 'parley_mo_total',
      help: 'Inbound messages stored',
      labelNames: ['carrier'],
      registers: r,
    }),
    submitLatency: new Histogram({
      name: 'parley_smpp_submit_response_seconds',
      help: 'submit_sm to submit_sm_resp time',
      labelNames: ['carrier'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    }),
    binds: new Gauge({
      name: 'parley_smpp_binds',
      help: 'SMPP binds by state',
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
    webhooks: new Counter({
      name: 'parley_webhook_deliveries_total',
      help: 'Status callback attempts by result',
      labelNames: ['result'],
      registers: r,
    }),
    httpDuration: new Histogram({
      name: 'parley_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['route', 'method', 'status_class'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
