/**
 * An aged database: N finished messages of history, written the way the gateway leaves them
 * (delivered, with their segments, SMSC id keys, one callback in ten, a contact per recipient, some
 * inbound traffic), in time order, with no ANALYZE afterwards (autovacuum off: the statistics are
 * whatever they were).
 */
import pg from 'pg';

const ACCOUNT = '00000000-0000-4000-8000-0000000000a1';

/** Loads `n` finished messages in chunks, ids and timestamps older than anything a run sends. */
export async function preload(dbUrl: string, n: number, log: (s: string) => void): Promise<void> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  await c.query(
    `INSERT INTO accounts (id, name, webhook_secret) VALUES ('${ACCOUNT}', 'history', 's') ON CONFLICT DO NOTHING`,
  );
  await c.query(
    `INSERT INTO numbers (id, account_id, e164, type) VALUES (gen_random_uuid(), '${ACCOUNT}', '+15550100000', 'local') ON CONFLICT DO NOTHING`,
  );
  const chunk = 100_000;
  const t0 = Date.now();
  // Time-ordered ids in the past (UUIDv7 layout: 48-bit milliseconds first).
  const base = Date.now() - 30 * 86_400_000;
  const id = (i: string) =>
    `(lpad(to_hex(${base}::bigint + ${i}), 12, '0') || '7000' || '8000' || lpad(to_hex(${i}), 12, '0'))::uuid`;
  for (let from = 0; from < n; from += chunk) {
    const to = Math.min(n, from + chunk) - 1;
    await c.query('BEGIN');
    await c.query(`
      INSERT INTO messages (id, account_id, from_e164, to_e164, number_type, body, encoding, segments, status, status_rank,
                            status_callback, metadata, expires_at, created_at, updated_at, sending_at, sent_at, final_at, callback_seq)
      SELECT ${id('i')}, '${ACCOUNT}', '+15550100000', '+1415' || lpad((i % 10000000)::text, 7, '0'), 'local',
             'Your code is ' || (i % 1000000) || '. Do not share it.', 'gsm7', 1, 'delivered', 3,
             CASE WHEN i % 10 = 0 THEN 'https://hooks.example.com/sms' END,
             CASE WHEN i % 4 = 0 THEN jsonb_build_object('order', i) END,
             to_timestamp((${base} + i) / 1000.0) + interval '2 days', to_timestamp((${base} + i) / 1000.0),
             to_timestamp((${base} + i) / 1000.0) + interval '2 seconds', to_timestamp((${base} + i) / 1000.0),
             to_timestamp((${base} + i) / 1000.0), to_timestamp((${base} + i) / 1000.0) + interval '2 seconds',
             CASE WHEN i % 10 = 0 THEN 3 ELSE 0 END
      FROM generate_series(${from}, ${to}) i`);
    await c.query(`
      INSERT INTO segments (message_id, idx, parts, status, status_rank, from_e164, to_e164, number_type, payload, data_coding,
                            esm_class, next_attempt_at, expires_at, attempts, carrier_id, smsc_id, reason, submitted_at, done_at, profile)
      SELECT ${id('i')}, 0, 1, 'delivered', 3, '+15550100000', '+1415' || lpad((i % 10000000)::text, 7, '0'), 'local',
             convert_to('Your code is ' || (i % 1000000) || '. Do not share it.', 'UTF8'), 0, 0,
             to_timestamp((${base} + i) / 1000.0), to_timestamp((${base} + i) / 1000.0) + interval '2 days', 1,
             'sim', upper(to_hex(i + 4096)), NULL, to_timestamp((${base} + i) / 1000.0),
             to_timestamp((${base} + i) / 1000.0) + interval '2 seconds', 'g0.u.r8.udh'
      FROM generate_series(${from}, ${to}) i`);
    await c.query(`
      INSERT INTO segment_smsc_ids (carrier_id, id_key, message_id, idx)
      SELECT 'hist', 'n:' || (i + 4096), ${id('i')}, 0 FROM generate_series(${from}, ${to}) i`);
    await c.query(`
      INSERT INTO webhook_deliveries (message_id, account_id, url, seq, body, attempts, delivered_at, created_at)
      SELECT ${id('i')}, '${ACCOUNT}', 'https://hooks.example.com/sms', s, '{"status":"delivered"}', 1,
             to_timestamp((${base} + i) / 1000.0), to_timestamp((${base} + i) / 1000.0)
      FROM generate_series(${from}, ${to}, 10) i, generate_series(1, 3) s`);
    // Every recipient became a contact on its first send (as the accept INSERT does).
    await c.query(`
      INSERT INTO contacts (id, account_id, e164, first_message_id, first_message_at, created_at, updated_at)
      SELECT ${id('i')}, '${ACCOUNT}', '+1415' || lpad((i % 10000000)::text, 7, '0'), ${id('i')},
             to_timestamp((${base} + i) / 1000.0), to_timestamp((${base} + i) / 1000.0), to_timestamp((${base} + i) / 1000.0)
      FROM generate_series(${from}, ${to}) i
      ON CONFLICT (account_id, e164) DO NOTHING`);
    await c.query(`
      INSERT INTO inbound_messages (id, account_id, from_e164, to_e164, body, segments, complete, carrier_id, received_at)
      SELECT gen_random_uuid(), '${ACCOUNT}', '+1415' || lpad((i % 10000000)::text, 7, '0'), '+15550100000', 'Thanks', 1, true, 'sim',
             to_timestamp((${base} + i) / 1000.0)
      FROM generate_series(${from}, ${to}, 50) i`);
    await c.query('COMMIT');
    log(`preload: ${to + 1}/${n} messages (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await c.query('CHECKPOINT');
  await c.end();
}
