import { randomUUID } from 'node:crypto';
import { emptyRollup, type ReceiptUpdate, type RollupResult } from '../messaging/model.ts';
import type { ReceiptStore, UnmatchedReceipt } from '../messaging/ports.ts';
import { columns, pushRow } from './columns.ts';
import type { Db } from './db.ts';
import { RECEIPTS_SQL } from './dispatch-sql.ts';
import { finishWrite, type ResultRow, toChange } from './rollup.ts';

const iso = (v: unknown) => (v instanceof Date ? v : new Date(String(v))).toISOString();

/** Receipts applied to segments, or parked in the database until their SMSC id is stored. */
export class ReceiptsRepo implements ReceiptStore {
  constructor(private readonly db: Db) {}

  async applyReceipts(
    receipts: ReceiptUpdate[],
    ttlMs: number,
  ): Promise<{ matched: boolean[]; rollup: RollupResult }> {
    const cols = columns(7);
    receipts.forEach((rc, ord) => {
      rc.candidates.forEach((key, rank) => {
        pushRow(cols, [ord, rank, rc.carrierId, key, rc.status, rc.errorCode ?? null, rc.reason]);
      });
    });
    // One statement, committed on its own (the roll-up of every message it touches is in it);
    // receipts that matched no stored id are parked by a second one. The receipts are
    // acknowledged to the carrier only after both: should the gateway stop between them, the
    // carrier sends them all again, and those already applied move nothing (forward only).
    const r = await this.db.query<ResultRow>(RECEIPTS_SQL, cols, 'parley_receipts');
    const out = emptyRollup();
    const matched = receipts.map(() => false);
    for (const row of r.rows) {
      if (Number(row.k) === 0) matched[Number(row.idx)] = true;
      else out.changes.push(toChange(row));
    }
    const park = columns(8);
    receipts.forEach((rc, ord) => {
      if (matched[ord]) return;
      const id = randomUUID();
      rc.candidates.forEach((key, rank) => {
        pushRow(park, [id, rank, rc.carrierId, key, rc.smscId, rc.status, rc.errorCode ?? null, rc.reason]);
      });
    });
    if (park[0]!.length > 0) {
      await this.db.query(
        `INSERT INTO parked_receipts (receipt_id, rank, carrier_id, id_key, smsc_id, status, error_code, reason, expires_at)
         SELECT x.*, now() + $9 * interval '1 millisecond'
         FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
           AS x(receipt_id, rank, carrier_id, id_key, smsc_id, status, error_code, reason)`,
        [...park, ttlMs],
        'parley_park_receipts',
      );
    }
    return { matched, rollup: out };
  }

  async rematchParked(
    youngerThanMs: number,
    limit: number,
  ): Promise<{ count: number; rollup: RollupResult }> {
    return this.db.tx(async (q) => {
      const r = await q.query<ResultRow>(
        `WITH p AS (
           SELECT receipt_id, rank, carrier_id, id_key, status, error_code, reason FROM parked_receipts
           WHERE unmatched_at IS NULL AND parked_at > now() - $1 * interval '1 millisecond'
           ORDER BY parked_at LIMIT $2
         ), hit AS (
           SELECT DISTINCT ON (p.receipt_id) p.receipt_id, i.message_id, i.idx, p.status, p.error_code, p.reason
           FROM p CROSS JOIN LATERAL (
             SELECT message_id, idx FROM segment_smsc_ids WHERE id_key = p.id_key AND carrier_id = p.carrier_id OFFSET 0) i
           ORDER BY p.receipt_id, p.rank
         )
         SELECT 3 AS k, message_id, NULL::uuid AS account_id, status, reason, error_code, NULL::boolean AS cb, idx, receipt_id
         FROM hit`,
        [youngerThanMs, limit],
        'parley_rematch_parked',
      );
      const out = emptyRollup();
      await finishWrite(q, r.rows, out);
      return { count: r.rowCount, rollup: out };
    });
  }

  async expireParked(limit: number): Promise<Array<{ carrierId: string; smscId: string }>> {
    const r = await this.db.query<{ carrier_id: string; smsc_id: string; rank: number }>(
      `WITH c AS (
         SELECT receipt_id FROM parked_receipts WHERE unmatched_at IS NULL AND expires_at < now() AND rank = 0
         ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE parked_receipts p SET unmatched_at = now()
       FROM c WHERE p.receipt_id = c.receipt_id
       RETURNING p.carrier_id, p.smsc_id, p.rank`,
      [limit],
    );
    return r.rows
      .filter((x) => Number(x.rank) === 0)
      .map((x) => ({ carrierId: x.carrier_id, smscId: x.smsc_id }));
  }

  async listUnmatched(limit: number, before?: Date): Promise<UnmatchedReceipt[]> {
    const r = await this.db.query<Record<string, unknown>>(
      `SELECT carrier_id, smsc_id, status, error_code, parked_at, unmatched_at FROM parked_receipts
       WHERE unmatched_at IS NOT NULL AND rank = 0 AND unmatched_at < $2
       ORDER BY unmatched_at DESC LIMIT $1`,
      [limit, (before ?? new Date('9999-12-31T00:00:00Z')).toISOString()],
    );
    return r.rows.map((x) => ({
      carrierId: x.carrier_id as string,
      smscId: x.smsc_id as string,
      status: x.status as string,
      errorCode: (x.error_code as string | null) ?? null,
      receivedAt: iso(x.parked_at),
      unmatchedAt: iso(x.unmatched_at),
    }));
  }

  async prune(olderThanMs: number): Promise<number> {
    const a = await this.db.query(
      `DELETE FROM parked_receipts WHERE receipt_id IN (
         SELECT receipt_id FROM parked_receipts WHERE unmatched_at < now() - $1 * interval '1 millisecond' LIMIT 10000)`,
      [olderThanMs],
    );
    const b = await this.db.query(
      `DELETE FROM rejected_pdus WHERE id IN (
         SELECT id FROM rejected_pdus WHERE received_at < now() - $1 * interval '1 millisecond' LIMIT 10000)`,
      [olderThanMs],
    );
    return a.rowCount + b.rowCount;
  }
}
