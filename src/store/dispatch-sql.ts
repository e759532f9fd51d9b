/**
 * SQL of the dispatch path. Plan stability is a property of how these are written, checked by
 * test/e2e/plan-stability.test.ts: every statement is driven by its batch (unnest of parameter
 * arrays) and reaches the big tables only through key probes. Conditions on status use
 * `status_rank`, which no partial index is defined on, so no index on status can be chosen for
 * them whatever the statistics say; look-ups that are not the target of an UPDATE go through
 * `LATERAL (… OFFSET 0)`, a fence that leaves a probe per batch row as the only plan; the session
 * settings (db.ts) leave no join but a nested loop.
 */

import { FAILURE_STATUSES } from '../messaging/vocabulary.ts';
import { STAT_DELTAS_SQL } from './number-stats-repo.ts';

/** The failure statuses (vocabulary.ts) as an SQL list. */
const FAILED_SQL = [...FAILURE_STATUSES].map((x) => `'${x}'`).join(', ');

/** A message-status change as the roll-up returns it. */
export const CHANGE_COLUMNS = `id, account_id, status, reason, error_code, (status_callback IS NOT NULL) AS cb, number_type AS nt,
  CASE WHEN parley_status_rank(status) = 3 AND sent_at IS NOT NULL THEN extract(epoch FROM now() - sent_at)::float8 END AS lat`;

/**
 * CTEs applying target statuses `t(message_id, status, reason, error_code, dup)` to messages,
 * never backwards (an `unknown` message may still learn its real final status), and queuing
 * status callbacks and the per-number rollup deltas. Defines `u` (changed messages), `wh`
 * (callbacks) and `st` (rollup deltas).
 */
export const APPLY_STATUSES = `u AS (
  UPDATE messages m
  SET status = t.status, status_rank = parley_status_rank(t.status),
      reason = CASE WHEN t.status = 'delivered' THEN NULL ELSE COALESCE(t.reason, m.reason) END,
      error_code = COALESCE(t.error_code, m.error_code),
      possible_duplicate = m.possible_duplicate OR t.dup, updated_at = now(),
      sending_at = CASE WHEN t.status = 'sending' THEN now() ELSE m.sending_at END,
      sent_at = CASE WHEN t.status = 'sent' THEN now() ELSE m.sent_at END,
      final_at = CASE WHEN parley_status_rank(t.status) = 3 THEN now() ELSE m.final_at END,
      callback_seq = m.callback_seq + CASE WHEN m.status_callback IS NULL THEN 0 ELSE 1 END
  FROM t
  WHERE m.id = t.message_id AND t.status IS NOT NULL
    AND (m.status_rank < parley_status_rank(t.status) OR (m.status = 'unknown' AND t.status <> 'unknown'
         AND parley_status_rank(t.status) = 3))
  RETURNING m.id, m.account_id, m.status, m.reason, m.error_code, m.status_callback, m.callback_seq, m.segments,
            m.metadata, m.from_e164, m.to_e164, m.updated_at, m.possible_duplicate, m.sent_at,
            m.number_type
), wh AS (
  INSERT INTO webhook_deliveries (message_id, account_id, url, seq, body)
  SELECT id, account_id, status_callback, callback_seq,
         json_build_object('id', id, 'status', status, 'reason', reason, 'errorCode', error_code, 'from', from_e164,
                           'to', to_e164, 'segments', segments, 'possibleDuplicate', possible_duplicate,
                           'sequence', callback_seq, 'metadata', metadata, 'timestamp', updated_at)::text
  FROM u WHERE status_callback IS NOT NULL
), ${STAT_DELTAS_SQL}`;

/** Single-part messages take their segment's status; `s` is the updated segments CTE. */
const SINGLE_PART_ROWS = `SELECT message_id, status,
         CASE WHEN parley_status_rank(status) = 3 AND status <> 'delivered' THEN reason END AS reason,
         CASE WHEN parley_status_rank(status) = 3 AND status <> 'delivered' THEN error_code END AS error_code,
         possible_duplicate AS dup
  FROM s WHERE parts = 1`;
const SINGLE_PART_TARGETS = `t AS (
  ${SINGLE_PART_ROWS}
)`;

/**
 * A multi-part message's status from all its segments `cur(message_id, idx, status, status_rank,
 * reason, error_code, possible_duplicate)`: failed when any part failed, delivered when all
 * were. Defines `agg` and `mt(message_id, dup, reason, error_code, status)`.
 */
const AGG_TARGETS = (cur: string) => `agg AS (
  SELECT message_id,
         min(status_rank) AS min_rank, max(status_rank) AS max_rank,
         bool_and(status = 'delivered') AS all_delivered,
         bool_and(status_rank = 3) AS all_final,
         (array_agg(status ORDER BY idx) FILTER (WHERE status IN (${FAILED_SQL})))[1] AS fail_status,
         (array_agg(reason ORDER BY idx) FILTER (WHERE status IN (${FAILED_SQL})))[1] AS fail_reason,
         (array_agg(error_code ORDER BY idx) FILTER (WHERE status IN (${FAILED_SQL})))[1] AS fail_code,
         (array_agg(reason ORDER BY idx) FILTER (WHERE status = 'unknown'))[1] AS unknown_reason,
         bool_or(possible_duplicate) AS dup
  FROM ${cur}
  GROUP BY message_id
), mt AS (
  SELECT message_id, dup,
         CASE WHEN fail_status IS NOT NULL THEN fail_reason WHEN all_final AND NOT all_delivered THEN unknown_reason END AS reason,
         fail_code AS error_code,
         CASE WHEN fail_status IS NOT NULL THEN fail_status
              WHEN all_delivered THEN 'delivered'
              WHEN all_final THEN 'unknown'
              WHEN min_rank >= 2 THEN 'sent'
              WHEN max_rank >= 1 THEN 'sending' END AS status
  FROM agg
)`;

/**
 * Targets of every message `s` (the updated segments CTE) touched, multi-part ones included, in
 * the same statement: a write needs no second statement, so no transaction around it (two round
 * trips fewer, which the machine's two cores felt: docs/benchmarks.md, twelfth VM). The statement
 * sees the segments as they were before it, so a multi-part message's segments are those stored
 * with this statement's own updates put in their place (`fresh` first).
 */
const ALL_TARGETS = `mp AS (
  SELECT DISTINCT message_id FROM s WHERE parts > 1
), cur AS (
  SELECT DISTINCT ON (message_id, idx) message_id, idx, status, status_rank, reason, error_code, possible_duplicate
  FROM (
    SELECT message_id, idx, status, parley_status_rank(status) AS status_rank, reason, error_code, possible_duplicate,
           1 AS fresh
    FROM s WHERE parts > 1
    UNION ALL
    SELECT mp.message_id, x.idx, x.status, x.status_rank, x.reason, x.error_code, x.possible_duplicate, 0
    FROM mp CROSS JOIN LATERAL (
      SELECT idx, status, status_rank, reason, error_code, possible_duplicate FROM segments
      WHERE message_id = mp.message_id OFFSET 0) x
  ) z
  ORDER BY message_id, idx, fresh DESC
), ${AGG_TARGETS('cur')}, t AS (
  ${SINGLE_PART_ROWS}
  UNION ALL
  SELECT message_id, status, reason, error_code, dup FROM mt
)`;

/**
 * Result rows of a segment write: kind 1 a changed message, kind 2 a multi-part message to
 * aggregate (`multi`: writes whose targets are SINGLE_PART_TARGETS), kind 3 a parked receipt that
 * now matches (outcome writes only).
 */
const RESULT = (o: { hits: boolean; multi: boolean }) => `
SELECT 1 AS k, id AS message_id, account_id, status, reason, error_code, cb, NULL::smallint AS idx, NULL::uuid AS receipt_id, lat, nt
FROM (SELECT ${CHANGE_COLUMNS} FROM u) c
${o.multi ? 'UNION ALL SELECT DISTINCT 2, message_id, NULL::uuid, NULL, NULL, NULL, NULL::boolean, NULL::smallint, NULL::uuid, NULL::float8, NULL FROM s WHERE parts > 1' : ''}
${o.hits ? 'UNION ALL SELECT 3, message_id, NULL::uuid, status, reason, error_code, NULL::boolean, idx, receipt_id, NULL::float8, NULL FROM hit' : ''}`;

/**
 * Claims due segments with a lease and marks their messages `sending`, in one round trip. The
 * lease owner ($1) names the claim itself (`<instance>#<n>`), so a claim whose answer is lost
 * can be found and undone. Segments held for a rate-limit slot (`h`, migration 019) are taken
 * before the rest of the due queue (`f`), which excludes them: a row this statement has locked
 * is not skipped by its own second scan, and any due held segment not locked by another claim is
 * already in `h` unless `h` filled the batch.
 */
export const CLAIM_SQL = `WITH h AS (
  SELECT message_id, idx FROM segments
  WHERE status = 'queued' AND reason = 'rate_limited' AND next_attempt_at <= now()
  ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED
), f AS (
  SELECT message_id, idx FROM segments
  WHERE status IN ('queued', 'scheduled') AND next_attempt_at <= now() AND reason IS DISTINCT FROM 'rate_limited'
  ORDER BY next_attempt_at LIMIT (SELECT $2 - count(*) FROM h) FOR UPDATE SKIP LOCKED
), c AS (
  SELECT message_id, idx FROM h UNION ALL SELECT message_id, idx FROM f
), s AS (
  UPDATE segments s
  SET status = 'sending', status_rank = 1, lease_owner = $1,
      lease_until = now() + $3 * interval '1 millisecond', attempts = s.attempts + 1
  FROM c WHERE s.message_id = c.message_id AND s.idx = c.idx
  RETURNING s.message_id, s.idx, s.parts, s.from_e164, s.to_e164, s.number_type, s.payload, s.data_coding, s.esm_class,
            s.use_payload_tlv, s.profile, s.expires_at, s.attempts, s.resends, s.reason = 'rate_limited' AS held
), t AS (
  SELECT DISTINCT message_id, 'sending'::text AS status, NULL::text AS reason, NULL::text AS error_code, false AS dup FROM s
), ${APPLY_STATUSES}
SELECT 0 AS k, message_id, idx, parts, from_e164, to_e164, number_type, payload, data_coding, esm_class, use_payload_tlv,
       profile, expires_at, attempts, resends, held, NULL::uuid AS account_id, NULL AS status, NULL::boolean AS cb FROM s
UNION ALL
SELECT 1, id, NULL, NULL, NULL, NULL, nt, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, account_id, status, cb
FROM (SELECT ${CHANGE_COLUMNS} FROM u) c`;

/**
 * Outcomes of submits (and dispatch decisions) for segments this instance leased ($1), their
 * messages' roll-up, the SMSC id keys of sent segments, and parked receipts those keys match.
 * With $16 true it writes nothing when a parked receipt matches (it only returns the kind-3 rows):
 * applying those receipts takes more statements, so the caller then writes the batch again in a
 * transaction with $16 false.
 */
export const OUTCOMES_SQL = `WITH o AS MATERIALIZED (
  SELECT *, 1 AS leased_rank, $1::text AS owner
  FROM unnest($2::uuid[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[],
              $9::boolean[], $10::text[], $11::boolean[])
    AS o(message_id, idx, status, carrier_id, smsc_id, reason, delay_ms, dup, error_code, deferred)
), ids AS (
  SELECT * FROM unnest($12::text[], $13::text[], $14::uuid[], $15::int[]) AS i(carrier_id, id_key, message_id, idx)
), hit AS (
  SELECT DISTINCT ON (p.receipt_id) p.receipt_id, ids.message_id, ids.idx, p.status, p.error_code, p.reason
  FROM ids CROSS JOIN LATERAL (
    SELECT receipt_id, rank, status, error_code, reason FROM parked_receipts
    WHERE id_key = ids.id_key AND carrier_id = ids.carrier_id AND unmatched_at IS NULL OFFSET 0) p
  ORDER BY p.receipt_id, p.rank
), s AS (
  UPDATE segments s
  SET status = o.status, status_rank = parley_status_rank(o.status),
      carrier_id = COALESCE(o.carrier_id, s.carrier_id), smsc_id = COALESCE(o.smsc_id, s.smsc_id),
      reason = o.reason, error_code = COALESCE(o.error_code, s.error_code),
      submitted_at = CASE WHEN o.status = 'sent' THEN now() ELSE s.submitted_at END,
      done_at = CASE WHEN parley_status_rank(o.status) = 3 THEN now() ELSE s.done_at END,
      -- From the statement's own clock, not the transaction's start: a delay counted by the
      -- gateway after BEGIN returned (in the transaction this may run in), added to now(), put a
      -- deferral to a set time before it (a daily-cap deferral to Pacific midnight came due at
      -- 23:59:59.999).
      next_attempt_at = CASE WHEN o.status = 'queued' THEN clock_timestamp() + o.delay_ms * interval '1 millisecond'
                             ELSE s.next_attempt_at END,
      attempts = s.attempts - CASE WHEN o.deferred THEN 1 ELSE 0 END,
      possible_duplicate = s.possible_duplicate OR o.dup,
      resends = s.resends + CASE WHEN o.dup THEN 1 ELSE 0 END,
      lease_owner = NULL, lease_until = NULL
  FROM o
  -- "Leased by us" compares with columns of the batch, not constants: as a filter on the segment
  -- alone it made the planner expect one leased row and scan them all per batch row on a new
  -- database (test/e2e/plan-stability.test.ts, "a new gateway").
  WHERE s.message_id = o.message_id AND s.idx = o.idx AND s.status_rank = o.leased_rank
    AND starts_with(s.lease_owner, o.owner) AND NOT ($16::boolean AND EXISTS (SELECT 1 FROM hit))
  RETURNING s.message_id, s.idx, s.parts, s.status, s.reason, s.error_code, s.possible_duplicate
), ${ALL_TARGETS}, ${APPLY_STATUSES},
ins AS (
  INSERT INTO segment_smsc_ids (carrier_id, id_key, message_id, idx)
  SELECT carrier_id, id_key, message_id, idx FROM ids WHERE NOT ($16::boolean AND EXISTS (SELECT 1 FROM hit))
  ON CONFLICT (id_key, carrier_id) DO UPDATE SET message_id = EXCLUDED.message_id, idx = EXCLUDED.idx
)${RESULT({ hits: true, multi: false })}`;

/**
 * Receipts: each candidate key row `r(ord, rank, carrier_id, id_key, status, error_code, reason)`;
 * the best-ranked stored key wins per receipt; the segment moves forward only.
 */
export const RECEIPTS_SQL = `WITH r AS (
  SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
    AS r(ord, rank, carrier_id, id_key, status, error_code, reason)
), hit AS (
  SELECT DISTINCT ON (r.ord) r.ord, i.message_id, i.idx, r.status, r.error_code, r.reason
  FROM r CROSS JOIN LATERAL (
    SELECT message_id, idx FROM segment_smsc_ids WHERE id_key = r.id_key AND carrier_id = r.carrier_id OFFSET 0) i
  ORDER BY r.ord, r.rank
), s AS (
  UPDATE segments s
  SET status = hit.status, status_rank = parley_status_rank(hit.status), error_code = hit.error_code,
      reason = hit.reason, done_at = now()
  FROM hit
  WHERE s.message_id = hit.message_id AND s.idx = hit.idx
    AND (s.status_rank < parley_status_rank(hit.status) OR (s.status_rank = 3 AND s.status = 'unknown'
         AND hit.status <> 'unknown'))
  RETURNING s.message_id, s.idx, s.parts, s.status, s.reason, s.error_code, s.possible_duplicate
), ${ALL_TARGETS}, ${APPLY_STATUSES}
SELECT 0 AS k, NULL::uuid AS message_id, NULL::uuid AS account_id, NULL AS status, NULL AS reason, NULL AS error_code,
       NULL::boolean AS cb, ord::smallint AS idx, NULL::uuid AS receipt_id, NULL::float8 AS lat, NULL AS nt FROM hit
UNION ALL ${RESULT({ hits: false, multi: false })}`;

/** Applies receipts to explicit segments `x(message_id, idx, status, error_code, reason)` (parked ones that now match). */
export const RECEIPTS_BY_SEGMENT_SQL = `WITH x AS (
  SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[]) AS x(message_id, idx, status, error_code, reason)
), s AS (
  UPDATE segments s
  SET status = x.status, status_rank = parley_status_rank(x.status), error_code = x.error_code,
      reason = x.reason, done_at = now()
  FROM x
  WHERE s.message_id = x.message_id AND s.idx = x.idx
    AND (s.status_rank < parley_status_rank(x.status) OR (s.status_rank = 3 AND s.status = 'unknown'
         AND x.status <> 'unknown'))
  RETURNING s.message_id, s.idx, s.parts, s.status, s.reason, s.error_code, s.possible_duplicate
), ${SINGLE_PART_TARGETS}, ${APPLY_STATUSES}${RESULT({ hits: false, multi: true })}`;

/** Multi-part messages ($1) rolled up from all their stored segments (see AGG_TARGETS). */
export const AGG_SQL = `WITH cur AS (
  SELECT k.id AS message_id, s.idx, s.status, s.status_rank, s.reason, s.error_code, s.possible_duplicate
  FROM unnest($1::uuid[]) AS k(id) CROSS JOIN LATERAL (
    SELECT idx, status, status_rank, reason, error_code, possible_duplicate FROM segments WHERE message_id = k.id OFFSET 0) s
), ${AGG_TARGETS('cur')}, t AS (
  SELECT message_id, status, reason, error_code, dup FROM mt
), ${APPLY_STATUSES}
SELECT ${CHANGE_COLUMNS} FROM u`;

/** Segments of one unconfirmed claim ($1) back to the queue, as if never claimed. */
export const RELEASE_CLAIM_SQL = `WITH c AS (
  SELECT message_id, idx FROM segments WHERE status = 'sending' AND lease_owner = $1 FOR UPDATE
)
UPDATE segments s
SET status = 'queued', status_rank = 0, lease_owner = NULL, lease_until = NULL,
    attempts = GREATEST(s.attempts - 1, 0), next_attempt_at = now()
FROM c WHERE s.message_id = c.message_id AND s.idx = c.idx AND s.lease_owner = $1`;
