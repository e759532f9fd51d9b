import { pushRow } from './columns.ts';
import type { Db, Queryable } from './db.ts';
import {
  AGG_SQL,
  CLAIM_TAIL,
  DIRECT_SQL,
  FAILED,
  UPDATED_COLUMNS,
  type UpdatedSegment,
} from './dispatch-sql.ts';

/** A claimed segment: everything needed to submit it without another query. */
export interface ClaimedSegment {
  messageId: string;
  idx: number;
  from: string;
  to: string;
  numberType: string;
  payload: Buffer;
  dataCoding: number;
  esmClass: number;
  usePayloadTlv: boolean;
  expiresAt: Date;
  attempts: number;
  resends: number;
}

/** Where a segment goes after a submit attempt. */
export type SegmentOutcome =
  | { messageId: string; idx: number; status: 'sent'; carrierId: string; smscId: string; idKeys: string[] }
  | {
      messageId: string;
      idx: number;
      status: 'failed' | 'rejected' | 'expired';
      carrierId?: string | undefined;
      commandStatus?: number | undefined;
      reason: string;
    }
  | {
      messageId: string;
      idx: number;
      status: 'queued';
      delayMs: number;
      possibleDuplicate: boolean;
      reason: string;
    };

export interface ReceiptUpdate {
  carrierId: string;
  idKeys: string[];
  status: 'delivered' | 'undelivered' | 'expired' | 'failed' | 'rejected';
  errorCode: string | undefined;
  reason: string;
}

export interface RollupResult {
  /** Messages that changed status, by new status. */
  changed: Record<string, number>;
  /** Whether any change queued a status callback. */
  webhooks: boolean;
}

/** Segment claiming, outcome and receipt writes, each followed by the message roll-up in the same transaction. */
export class DispatchRepo {
  constructor(
    private readonly db: Db,
    private readonly owner: string,
  ) {}

  private static merge(
    into: RollupResult,
    rows: Array<{ status: string; n: number; webhooks: boolean }>,
  ): void {
    for (const row of rows) {
      into.changed[row.status] = (into.changed[row.status] ?? 0) + row.n;
      into.webhooks ||= row.webhooks;
    }
  }

  /** Sets explicit message statuses (never backwards), with history rows and status callbacks. */
  private async applyTargets(
    q: Queryable,
    targets: Array<[id: string, status: string, reason: string | null, code: string | null, dup: boolean]>,
    out: RollupResult,
  ): Promise<void> {
    if (targets.length === 0) return;
    const cols: unknown[][] = [[], [], [], [], []];
    for (const t of targets) pushRow(cols, t);
    DispatchRepo.merge(
      out,
      (
        await q.query<{ status: string; n: number; webhooks: boolean }>(
          DIRECT_SQL,
          cols,
          'parley_apply_direct',
        )
      ).rows,
    );
  }

  /** Rolls multi-part messages up from all their segments. */
  async rollup(
    q: Queryable,
    messageIds: string[],
    out: RollupResult = { changed: {}, webhooks: false },
  ): Promise<RollupResult> {
    if (messageIds.length > 0)
      DispatchRepo.merge(
        out,
        (
          await q.query<{ status: string; n: number; webhooks: boolean }>(
            AGG_SQL,
            [messageIds],
            'parley_apply_agg',
          )
        ).rows,
      );
    return out;
  }

  /** Roll-up after segment updates: single-part messages take their segment's status directly. */
  private async rollupRows(q: Queryable, rows: UpdatedSegment[]): Promise<RollupResult> {
    const out: RollupResult = { changed: {}, webhooks: false };
    const direct: Array<[string, string, string | null, string | null, boolean]> = [];
    const multi = new Set<string>();
    for (const r of rows) {
      if (Number(r.parts) === 1) {
        const failed = FAILED.has(r.status);
        direct.push([
          r.message_id,
          r.status,
          failed ? r.reason : null,
          failed ? r.error_code : null,
          Boolean(r.possible_duplicate),
        ]);
      } else multi.add(r.message_id);
    }
    await this.applyTargets(q, direct, out);
    await this.rollup(q, [...multi], out);
    return out;
  }

  /**
   * Claims up to `limit` due segments with a lease (FOR UPDATE SKIP LOCKED), so several instances
   * share one database without taking the same work. Marks their messages `sending`.
   */
  async claim(limit: number, leaseMs: number): Promise<ClaimedSegment[]> {
    const r = await this.db.query<Record<string, unknown>>(
      `WITH c AS (
         SELECT message_id, idx FROM segments
         WHERE status IN ('queued', 'scheduled') AND next_attempt_at <= now()
         ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), s AS (
         UPDATE segments s
         SET status = 'sending', status_rank = 1, lease_owner = $1,
             lease_until = now() + $3 * interval '1 millisecond', attempts = s.attempts + 1
         FROM c WHERE s.message_id = c.message_id AND s.idx = c.idx
         RETURNING s.message_id, s.idx, s.from_e164, s.to_e164, s.number_type, s.payload, s.data_coding, s.esm_class,
                   s.use_payload_tlv, s.expires_at, s.attempts, s.resends
       ), t AS (
         SELECT DISTINCT message_id, 'sending'::text AS status, NULL::text AS reason, NULL::text AS error_code, false AS dup FROM s
       ), ${CLAIM_TAIL}`,
      [this.owner, limit, leaseMs],
      'parley_claim',
    );
    return r.rows.map((x) => ({
      messageId: x.message_id as string,
      idx: Number(x.idx),
      from: x.from_e164 as string,
      to: x.to_e164 as string,
      numberType: x.number_type as string,
      payload: Buffer.from(x.payload as Uint8Array),
      dataCoding: Number(x.data_coding),
      esmClass: Number(x.esm_class),
      usePayloadTlv: Boolean(x.use_payload_tlv),
      expiresAt: x.expires_at instanceof Date ? x.expires_at : new Date(String(x.expires_at)),
      attempts: Number(x.attempts),
      resends: Number(x.resends),
    }));
  }

  /** Writes submit outcomes for segments this instance leased; returns the roll-up. */
  async applyOutcomes(outcomes: SegmentOutcome[]): Promise<RollupResult> {
    return this.db.tx(async (q) => {
      const cols: unknown[][] = Array.from({ length: 10 }, () => []);
      const ids: unknown[][] = [[], [], [], []];
      for (const o of outcomes) {
        const row = [
          o.messageId,
          o.idx,
          o.status,
          o.status === 'sent' ? o.carrierId : o.status === 'queued' ? null : (o.carrierId ?? null),
          o.status === 'sent' ? o.smscId : null,
          o.status === 'failed' || o.status === 'rejected' || o.status === 'expired'
            ? (o.commandStatus ?? null)
            : null,
          o.status === 'sent' ? null : o.reason,
          o.status === 'queued' ? o.delayMs : 0,
          o.status === 'queued' ? o.possibleDuplicate : false,
          o.status === 'failed' || o.status === 'rejected'
            ? o.commandStatus === undefined
              ? null
              : `0x${o.commandStatus.toString(16).padStart(8, '0')}`
            : null,
        ];
        pushRow(cols, row);
        if (o.status === 'sent') {
          for (const k of o.idKeys) {
            ids[0]!.push(o.carrierId);
            ids[1]!.push(k);
            ids[2]!.push(o.messageId);
            ids[3]!.push(o.idx);
          }
        }
      }
      const r = await q.query<UpdatedSegment>(
        `WITH o AS (
           SELECT * FROM unnest($2::uuid[], $3::int[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::int[], $10::boolean[], $11::text[])
             AS o(message_id, idx, status, carrier_id, smsc_id, command_status, reason, delay_ms, dup, error_code))
         UPDATE segments s
         SET status = o.status, status_rank = parley_status_rank(o.status),
             carrier_id = COALESCE(o.carrier_id, s.carrier_id), smsc_id = COALESCE(o.smsc_id, s.smsc_id),
             command_status = o.command_status, reason = o.reason, error_code = COALESCE(o.error_code, s.error_code),
             submitted_at = CASE WHEN o.status = 'sent' THEN now() ELSE s.submitted_at END,
             done_at = CASE WHEN parley_status_rank(o.status) = 3 THEN now() ELSE s.done_at END,
             next_attempt_at = CASE WHEN o.status = 'queued' THEN now() + o.delay_ms * interval '1 millisecond' ELSE s.next_attempt_at END,
             possible_duplicate = s.possible_duplicate OR o.dup,
             resends = s.resends + CASE WHEN o.dup THEN 1 ELSE 0 END,
             lease_owner = NULL, lease_until = NULL
         FROM o
         WHERE s.message_id = o.message_id AND s.idx = o.idx AND s.status = 'sending' AND s.lease_owner = $1
         RETURNING ${UPDATED_COLUMNS}`,
        [this.owner, ...cols],
        'parley_outcomes',
      );
      if (ids[0]!.length > 0) {
        await q.query(
          `INSERT INTO segment_smsc_ids (carrier_id, id_key, message_id, idx)
           SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::int[])
           ON CONFLICT (id_key, carrier_id) DO UPDATE SET message_id = EXCLUDED.message_id, idx = EXCLUDED.idx`,
          ids,
          'parley_smsc_ids',
        );
      }
      return this.rollupRows(q, r.rows);
    });
  }

  /**
   * Applies receipts; returns, per receipt, whether a segment matched (unmatched ones are parked
   * by the caller). A receipt never moves a segment backwards.
   */
  async applyReceipts(receipts: ReceiptUpdate[]): Promise<{ matched: boolean[]; rollup: RollupResult }> {
    return this.db.tx(async (q) => {
      const cols: unknown[][] = [[], [], [], [], [], []];
      receipts.forEach((rc, ord) => {
        for (const k of rc.idKeys) {
          cols[0]!.push(ord);
          cols[1]!.push(rc.carrierId);
          cols[2]!.push(k);
          cols[3]!.push(rc.status);
          cols[4]!.push(rc.errorCode ?? null);
          cols[5]!.push(rc.reason);
        }
      });
      const r = await q.query<UpdatedSegment & { ord: number }>(
        `WITH r AS (
           SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
             AS r(ord, carrier_id, id_key, status, error_code, reason)),
         hit AS (
           SELECT DISTINCT ON (r.ord) r.ord, i.message_id, i.idx, r.status, r.error_code, r.reason
           FROM r JOIN segment_smsc_ids i ON i.carrier_id = r.carrier_id AND i.id_key = r.id_key
           ORDER BY r.ord),
         u AS (
           UPDATE segments s
           SET status = hit.status, status_rank = parley_status_rank(hit.status), error_code = hit.error_code,
               reason = hit.reason, done_at = now()
           FROM hit
           WHERE s.message_id = hit.message_id AND s.idx = hit.idx AND s.status_rank < parley_status_rank(hit.status)
           RETURNING ${UPDATED_COLUMNS})
         SELECT ord, NULL::uuid AS message_id, NULL::smallint AS parts, NULL AS status, NULL AS reason, NULL AS error_code,
                NULL::boolean AS possible_duplicate FROM hit
         UNION ALL
         SELECT NULL, message_id, parts, status, reason, error_code, possible_duplicate FROM u`,
        cols,
        'parley_receipts',
      );
      const matched = receipts.map(() => false);
      for (const row of r.rows) if (row.ord !== null) matched[Number(row.ord)] = true;
      const updated = r.rows.filter((x) => x.message_id !== null);
      const seen = new Set<string>();
      const rollup = await this.rollupRows(
        q,
        updated.filter((x) => !seen.has(x.message_id) && seen.add(x.message_id)),
      );
      return { matched, rollup };
    });
  }

  /**
   * Returns segments whose lease ran out (their instance died) to the queue, marked
   * possibleDuplicate because their submit_sm may have reached the SMSC; a segment already
   * re-sent once that way fails as SUBMIT_OUTCOME_UNKNOWN instead of being sent a third time.
   */
  async reclaimExpiredLeases(limit = 1000): Promise<number> {
    return this.db.tx(async (q) => {
      const r = await q.query<{ message_id: string }>(
        `WITH c AS (
           SELECT message_id, idx FROM segments WHERE status = 'sending' AND lease_until < now()
           LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE segments s
         SET status = CASE WHEN s.resends >= 1 THEN 'failed' ELSE 'queued' END,
             status_rank = CASE WHEN s.resends >= 1 THEN 3 ELSE 0 END,
             reason = CASE WHEN s.resends >= 1 THEN 'SUBMIT_OUTCOME_UNKNOWN' ELSE 'LEASE_EXPIRED' END,
             done_at = CASE WHEN s.resends >= 1 THEN now() ELSE NULL END,
             resends = CASE WHEN s.resends >= 1 THEN s.resends ELSE s.resends + 1 END,
             possible_duplicate = true, next_attempt_at = now(), lease_owner = NULL, lease_until = NULL
         FROM c WHERE s.message_id = c.message_id AND s.idx = c.idx
         RETURNING s.message_id`,
        [limit],
      );
      await this.rollup(q, [...new Set(r.rows.map((x) => x.message_id))]);
      return r.rowCount;
    });
  }

  /** Expires queued segments past their validity (e.g. no carrier was bound in time). */
  async expireOverdue(limit = 1000): Promise<number> {
    return this.db.tx(async (q) => {
      const r = await q.query<{ message_id: string }>(
        `WITH c AS (
           SELECT message_id, idx FROM segments WHERE status IN ('queued', 'scheduled') AND expires_at < now()
           LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE segments s SET status = 'expired', status_rank = 3, reason = 'VALIDITY_EXPIRED', done_at = now()
         FROM c WHERE s.message_id = c.message_id AND s.idx = c.idx
         RETURNING s.message_id`,
        [limit],
      );
      await this.rollup(q, [...new Set(r.rows.map((x) => x.message_id))]);
      return r.rowCount;
    });
  }
}
