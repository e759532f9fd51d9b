/** SQL of the dispatch path: status roll-up to messages, shared by claim, outcome and receipt writes. */

export const ROLLUP_SELECT =
  'SELECT status, count(*)::int AS n, bool_or(status_callback IS NOT NULL) AS webhooks FROM u GROUP BY status';

/**
 * CTEs applying target statuses `t(message_id, status, reason, error_code, dup)` to messages, never
 * backwards, and queuing status callbacks. Relies on the session's nested-loop join settings (db.ts)
 * to probe the messages primary key per target.
 */
export function applyStatuses(finalSelect = ROLLUP_SELECT): string {
  return `u AS (
  UPDATE messages m
  SET status = t.status, status_rank = parley_status_rank(t.status),
      reason = COALESCE(t.reason, m.reason), error_code = COALESCE(t.error_code, m.error_code),
      possible_duplicate = m.possible_duplicate OR t.dup, updated_at = now(),
      sending_at = CASE WHEN t.status = 'sending' THEN now() ELSE m.sending_at END,
      sent_at = CASE WHEN t.status = 'sent' THEN now() ELSE m.sent_at END,
      final_at = CASE WHEN parley_status_rank(t.status) = 3 THEN now() ELSE m.final_at END,
      callback_seq = m.callback_seq + CASE WHEN m.status_callback IS NULL THEN 0 ELSE 1 END
  FROM t
  WHERE m.id = t.message_id AND t.status IS NOT NULL AND m.status_rank < parley_status_rank(t.status)
  RETURNING m.id, m.account_id, m.status, m.reason, m.error_code, m.status_callback, m.callback_seq, m.segments,
            m.metadata, m.from_e164, m.to_e164, m.updated_at, m.possible_duplicate
), wh AS (
  INSERT INTO webhook_deliveries (message_id, account_id, url, seq, body)
  SELECT id, account_id, status_callback, callback_seq,
         json_build_object('id', id, 'status', status, 'reason', reason, 'errorCode', error_code, 'from', from_e164,
                           'to', to_e164, 'segments', segments, 'possibleDuplicate', possible_duplicate,
                           'sequence', callback_seq, 'metadata', metadata, 'timestamp', updated_at)::text
  FROM u WHERE status_callback IS NOT NULL
)
${finalSelect}`;
}

export const APPLY_TAIL = applyStatuses();
/** In the claim statement: claimed messages become `sending` in the same round trip. */
export const CLAIM_TAIL = applyStatuses('SELECT * FROM s');

/** Message status from explicit targets (single-part messages, claims). */
export const DIRECT_SQL = `WITH t AS (
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::boolean[]) AS t(message_id, status, reason, error_code, dup)
), ${APPLY_TAIL}`;

/** Message status aggregated over all segments (multi-part messages): failed when any part failed, delivered when all were. */
export const AGG_SQL = `WITH agg AS (
  SELECT message_id,
         min(status_rank) AS min_rank, max(status_rank) AS max_rank,
         bool_and(status = 'delivered') AS all_delivered,
         (array_agg(status ORDER BY idx) FILTER (WHERE status IN ('failed', 'rejected', 'undelivered', 'expired')))[1] AS fail_status,
         (array_agg(reason ORDER BY idx) FILTER (WHERE status IN ('failed', 'rejected', 'undelivered', 'expired')))[1] AS reason,
         (array_agg(error_code ORDER BY idx) FILTER (WHERE status IN ('failed', 'rejected', 'undelivered', 'expired')))[1] AS error_code,
         bool_or(possible_duplicate) AS dup
  FROM segments WHERE message_id = ANY($1::uuid[]) GROUP BY message_id
), t AS (
  SELECT message_id, dup, reason, error_code,
         CASE WHEN fail_status IS NOT NULL THEN fail_status
              WHEN all_delivered THEN 'delivered'
              WHEN min_rank >= 2 THEN 'sent'
              WHEN max_rank >= 1 THEN 'sending' END AS status
  FROM agg
), ${APPLY_TAIL}`;

/** A segment row as the update statements return it, for the roll-up. */
export interface UpdatedSegment {
  message_id: string;
  parts: number;
  status: string;
  reason: string | null;
  error_code: string | null;
  possible_duplicate: boolean;
}

export const UPDATED_COLUMNS =
  's.message_id, s.idx, s.parts, s.status, s.reason, s.error_code, s.possible_duplicate';
export const FAILED = new Set(['failed', 'rejected', 'undelivered', 'expired']);
