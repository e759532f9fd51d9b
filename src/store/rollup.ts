import type { RollupResult, StatusChange } from '../messaging/model.ts';
import type { MessageStatus, NumberType } from '../messaging/vocabulary.ts';
import type { Queryable } from './db.ts';
import { AGG_SQL, RECEIPTS_BY_SEGMENT_SQL } from './dispatch-sql.ts';

/** A result row of a segment write (see RESULT in dispatch-sql.ts). */
export interface ResultRow {
  k: number;
  message_id: string | null;
  account_id: string | null;
  status: string | null;
  reason: string | null;
  error_code: string | null;
  cb: boolean | null;
  idx: number | null;
  receipt_id: string | null;
  lat: number | null;
  nt: string | null;
}

export function toChange(r: {
  id?: string | null;
  message_id?: string | null;
  account_id: string | null;
  status: string | null;
  reason?: string | null;
  error_code?: string | null;
  cb: boolean | null;
  lat?: number | null;
  nt?: string | null;
}): StatusChange {
  return {
    messageId: (r.id ?? r.message_id)!,
    accountId: r.account_id!,
    status: r.status as MessageStatus,
    reason: r.reason ?? null,
    errorCode: r.error_code ?? null,
    callback: Boolean(r.cb),
    // Plain fields, not spreads: one object shape for every change on the hot path.
    sentToFinalSeconds: r.lat == null ? undefined : Number(r.lat),
    numberType: r.nt == null ? undefined : (r.nt as NumberType),
  };
}

/** Parked receipts that match segments now (kind 3 rows). */
export interface ParkedHit {
  receiptId: string;
  messageId: string;
  idx: number;
  status: string;
  errorCode: string | null;
  reason: string | null;
}

/**
 * Completes a segment write inside its transaction: collects the single-part changes, rolls up
 * multi-part messages from all their segments, and applies parked receipts that now match
 * (deleting them). Returns every message status change.
 */
export async function finishWrite(q: Queryable, rows: ResultRow[], out: RollupResult): Promise<void> {
  const multi: string[] = [];
  const hits: ParkedHit[] = [];
  for (const r of rows) {
    if (r.k === 1) out.changes.push(toChange(r));
    else if (r.k === 2) multi.push(r.message_id!);
    else if (r.k === 3)
      hits.push({
        receiptId: r.receipt_id!,
        messageId: r.message_id!,
        idx: Number(r.idx),
        status: r.status!,
        errorCode: r.error_code,
        reason: r.reason,
      });
  }
  if (multi.length > 0) await rollupMulti(q, multi, out);
  if (hits.length > 0) {
    await q.query('DELETE FROM parked_receipts WHERE receipt_id = ANY($1::uuid[])', [
      hits.map((h) => h.receiptId),
    ]);
    const cols: unknown[][] = [[], [], [], [], []];
    for (const h of hits) {
      cols[0]!.push(h.messageId);
      cols[1]!.push(h.idx);
      cols[2]!.push(h.status);
      cols[3]!.push(h.errorCode);
      cols[4]!.push(h.reason);
    }
    const r = await q.query<ResultRow>(RECEIPTS_BY_SEGMENT_SQL, cols, 'parley_receipts_by_segment');
    await finishWrite(q, r.rows, out);
  }
}

/** Rolls multi-part messages up from all their segments. */
export async function rollupMulti(q: Queryable, messageIds: string[], out: RollupResult): Promise<void> {
  if (messageIds.length === 0) return;
  const r = await q.query<Parameters<typeof toChange>[0]>(AGG_SQL, [messageIds], 'parley_rollup_multi');
  for (const row of r.rows) out.changes.push(toChange(row));
}
