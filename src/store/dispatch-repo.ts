import type { ClaimedSegment, DraftSegment, RollupResult, SegmentOutcome } from '../messaging/model.ts';
import { emptyRollup } from '../messaging/model.ts';
import type { DispatchStore } from '../messaging/ports.ts';
import type { NumberType } from '../messaging/vocabulary.ts';
import { columns, pushRow } from './columns.ts';
import type { Db } from './db.ts';
import { classifyDbError } from './db-errors.ts';
import { CLAIM_SQL, OUTCOMES_SQL, RELEASE_CLAIM_SQL } from './dispatch-sql.ts';
import { finishWrite, type ResultRow, rollupMulti, toChange } from './rollup.ts';

const date = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));

/** Segment claiming, outcome writes and sweeps, each with the message roll-up in the same transaction (or statement). */
export class DispatchRepo implements DispatchStore {
  private claims = 0;
  private readonly unconfirmed = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly owner: string,
  ) {}

  get unconfirmedClaims(): number {
    return this.unconfirmed.size;
  }

  /** Leases of this instance start with this prefix; each claim adds its number. */
  private get leasePrefix(): string {
    return `${this.owner}#`;
  }

  async releaseUnconfirmedClaims(): Promise<number> {
    let n = 0;
    for (const token of [...this.unconfirmed]) {
      n += (await this.db.query(RELEASE_CLAIM_SQL, [token])).rowCount;
      this.unconfirmed.delete(token);
    }
    return n;
  }

  async claim(limit: number, leaseMs: number): Promise<{ segments: ClaimedSegment[]; rollup: RollupResult }> {
    const token = `${this.leasePrefix}${++this.claims}`;
    let r: { rows: Record<string, unknown>[] };
    try {
      r = await this.db.query<Record<string, unknown>>(CLAIM_SQL, [token, limit, leaseMs], 'parley_claim');
    } catch (err) {
      // The connection may have dropped after the database committed the claim: its segments
      // would sit leased to us, never submitted, until the lease ran out.
      if (classifyDbError(err) === 'unavailable') this.unconfirmed.add(token);
      throw err;
    }
    const segments: ClaimedSegment[] = [];
    const rollup = emptyRollup();
    for (const x of r.rows) {
      if (Number(x.k) === 1) {
        // Fields named, not `{ ...x, nt }`: spreading a row and adding to it cost microseconds
        // per claimed message on Node 20 (see outcome.ts). Claim rows carry no reason or code.
        rollup.changes.push(
          toChange({
            message_id: x.message_id as string,
            account_id: x.account_id as string,
            status: x.status as string,
            cb: x.cb as boolean,
            nt: x.number_type as string | null,
          }),
        );
        continue;
      }
      segments.push({
        messageId: x.message_id as string,
        idx: Number(x.idx),
        parts: Number(x.parts),
        from: x.from_e164 as string,
        to: x.to_e164 as string,
        numberType: x.number_type as NumberType,
        payload: Buffer.from(x.payload as Uint8Array),
        dataCoding: Number(x.data_coding),
        esmClass: Number(x.esm_class),
        usePayloadTlv: Boolean(x.use_payload_tlv),
        profile: (x.profile as string) ?? '',
        expiresAt: date(x.expires_at),
        attempts: Number(x.attempts),
        resends: Number(x.resends),
        heldForSlot: x.held === true,
      });
    }
    return { segments, rollup };
  }

  /**
   * One statement, committed on its own (the roll-up of every message it touches is in it): no
   * BEGIN and COMMIT round trips. Only when a parked receipt matches one of the new SMSC ids does
   * the statement write nothing, and the batch is written again in a transaction that applies
   * those receipts with it (several statements). Rejects when the database does; nothing is then
   * written.
   */
  async applyOutcomes(outcomes: SegmentOutcome[]): Promise<RollupResult> {
    // Built before the write: per-row work while a pool connection is held slows every writer
    // waiting for one.
    const { cols, ids, due } = this.outcomeColumns(outcomes);
    const r = await this.db.session((q) =>
      q.query<ResultRow>(OUTCOMES_SQL, this.outcomeParams(cols, ids, due, true), 'parley_outcomes'),
    );
    if (!r.rows.some((x) => Number(x.k) === 3)) {
      const out = emptyRollup();
      for (const x of r.rows) out.changes.push(toChange(x));
      return out;
    }
    return this.db.tx(async (q) => {
      const out = emptyRollup();
      const again = await q.query<ResultRow>(
        OUTCOMES_SQL,
        this.outcomeParams(cols, ids, due, false),
        'parley_outcomes',
      );
      await finishWrite(q, again.rows, out);
      return out;
    });
  }

  /**
   * The statement's parameters. A deferral to a set time counts its delay from here (the
   * statement's clock, which runs after this, is the base of next_attempt_at), not from when it
   * was decided: waiting for the writer or a pool connection made held segments come back after
   * their slot.
   */
  private outcomeParams(
    cols: unknown[][],
    ids: unknown[][],
    due: Array<[number, number]>,
    aloneUnlessParked: boolean,
  ): unknown[] {
    const t = Date.now();
    const delays = cols[6]!;
    // Rounded up: never due before its time (a daily-cap deferral due before midnight is
    // counted against the day that is ending, and deferred again).
    for (const [row, dueAt] of due) delays[row] = Math.ceil(Math.max(0, dueAt - t));
    return [this.leasePrefix, ...cols, ...ids, aloneUnlessParked];
  }

  private outcomeColumns(outcomes: SegmentOutcome[]) {
    const cols = columns(10);
    const ids = columns(4);
    /** Rows deferred to a set time: their delay is counted once the transaction has begun. */
    const due: Array<[number, number]> = [];
    for (const o of outcomes) {
      if (o.status === 'queued' && o.dueAt !== undefined) due.push([cols[0]!.length, o.dueAt]);
      const sent = o.status === 'sent';
      const queued = o.status === 'queued';
      pushRow(cols, [
        o.messageId,
        o.idx,
        o.status,
        sent ? o.carrierId : queued ? null : (o.carrierId ?? null),
        sent ? o.smscId : null,
        sent ? null : o.reason,
        queued ? Math.round(o.delayMs) : 0,
        queued ? o.possibleDuplicate : false,
        !sent && !queued ? (o.errorCode ?? null) : null,
        queued ? o.deferred : false,
      ]);
      if (sent && o.idKey) pushRow(ids, [o.carrierId, o.idKey, o.messageId, o.idx]);
    }
    return { cols, ids, due };
  }

  async reclaimExpiredLeases(limit = 1000): Promise<{ count: number; rollup: RollupResult }> {
    return this.db.tx(async (q) => {
      const r = await q.query<{ message_id: string }>(
        `WITH c AS (
           SELECT message_id, idx FROM segments WHERE status = 'sending' AND lease_until < now()
           ORDER BY lease_until LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE segments s
         SET status = CASE WHEN s.resends >= 1 THEN 'failed' ELSE 'queued' END,
             status_rank = CASE WHEN s.resends >= 1 THEN 3 ELSE 0 END,
             reason = CASE WHEN s.resends >= 1 THEN 'submit_outcome_unknown' ELSE 'lease_expired' END,
             done_at = CASE WHEN s.resends >= 1 THEN now() ELSE NULL END,
             resends = CASE WHEN s.resends >= 1 THEN s.resends ELSE s.resends + 1 END,
             possible_duplicate = true, next_attempt_at = now(), lease_owner = NULL, lease_until = NULL
         FROM c WHERE s.message_id = c.message_id AND s.idx = c.idx
         RETURNING s.message_id`,
        [limit],
      );
      const out = emptyRollup();
      await rollupMulti(q, [...new Set(r.rows.map((x) => x.message_id))], out);
      return { count: r.rowCount, rollup: out };
    });
  }

  /**
   * Queued segments past their validity end `expired`. Only rows whose next attempt is older than
   * the validity itself are looked at: those are surely expired, and found by an index range scan
   * that never wades through a large live backlog. (Dispatch expires the rest when it claims them.)
   */
  async expireOverdue(
    limit = 1000,
    validityMs = 48 * 3600_000,
  ): Promise<{ count: number; rollup: RollupResult }> {
    return this.db.tx(async (q) => {
      const r = await q.query<{ message_id: string }>(
        `WITH c AS (
           SELECT message_id, idx FROM segments
           WHERE status IN ('queued', 'scheduled') AND next_attempt_at < now() - $2 * interval '1 millisecond'
             AND expires_at < now()
           ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE segments s SET status = 'expired', status_rank = 3, reason = 'validity_expired', done_at = now()
         FROM c WHERE s.message_id = c.message_id AND s.idx = c.idx
         RETURNING s.message_id`,
        [limit, validityMs],
      );
      const out = emptyRollup();
      await rollupMulti(q, [...new Set(r.rows.map((x) => x.message_id))], out);
      return { count: r.rowCount, rollup: out };
    });
  }

  async timeoutSent(olderThanMs: number, limit = 1000): Promise<{ count: number; rollup: RollupResult }> {
    return this.db.tx(async (q) => {
      const r = await q.query<{ message_id: string }>(
        `WITH c AS (
           SELECT message_id, idx FROM segments
           WHERE status = 'sent' AND submitted_at < now() - $2 * interval '1 millisecond'
           ORDER BY submitted_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE segments s SET status = 'unknown', status_rank = 3, reason = 'receipt_timeout', done_at = now()
         FROM c WHERE s.message_id = c.message_id AND s.idx = c.idx
         RETURNING s.message_id`,
        [limit, olderThanMs],
      );
      const out = emptyRollup();
      await rollupMulti(q, [...new Set(r.rows.map((x) => x.message_id))], out);
      return { count: r.rowCount, rollup: out };
    });
  }

  async bodies(messageIds: string[]): Promise<Map<string, string>> {
    const r = await this.db.query<{ id: string; body: string }>(
      `SELECT m.id, m.body FROM unnest($1::uuid[]) AS k(id)
       CROSS JOIN LATERAL (SELECT id, body FROM messages WHERE id = k.id OFFSET 0) m`,
      [messageIds],
    );
    return new Map(r.rows.map((x) => [x.id, x.body]));
  }

  async resplit(
    messageId: string,
    split: { segments: DraftSegment[]; segmentCount: number; encoding: string; profile: string },
  ): Promise<boolean> {
    return this.db.tx(async (q) => {
      const cur = await q.query<Record<string, unknown>>(
        `SELECT idx, status, lease_owner, from_e164, to_e164, number_type, expires_at, resends, possible_duplicate
         FROM segments WHERE message_id = $1 ORDER BY idx FOR UPDATE`,
        [messageId],
      );
      const first = cur.rows[0];
      if (!first) return false;
      const untouched = cur.rows.every(
        (x) =>
          x.status === 'queued' ||
          x.status === 'scheduled' ||
          (x.status === 'sending' && String(x.lease_owner).startsWith(this.leasePrefix)),
      );
      if (!untouched || cur.rows.some((x) => Number(x.resends) > 0 || x.possible_duplicate)) return false;
      await q.query('DELETE FROM segments WHERE message_id = $1', [messageId]);
      const cols = columns(8);
      for (const seg of split.segments)
        pushRow(cols, [
          seg.idx,
          seg.payload.toString('hex'),
          seg.dataCoding,
          seg.esmClass,
          seg.usePayloadTlv,
          split.segments.length,
          split.profile,
          messageId,
        ]);
      await q.query(
        `INSERT INTO segments (message_id, idx, parts, status, status_rank, from_e164, to_e164, number_type, payload, data_coding,
                               esm_class, use_payload_tlv, next_attempt_at, expires_at, profile)
         SELECT x.mid, x.idx, x.parts, 'queued', 0, $9, $10, $11, decode(x.payload, 'hex'), x.dc, x.esm, x.tlv, now(), $12, x.profile
         FROM unnest($1::int[], $2::text[], $3::int[], $4::int[], $5::boolean[], $6::int[], $7::text[], $8::uuid[])
           AS x(idx, payload, dc, esm, tlv, parts, profile, mid)`,
        [...cols, first.from_e164, first.to_e164, first.number_type, first.expires_at],
      );
      await q.query('UPDATE messages SET segments = $2, encoding = $3, updated_at = now() WHERE id = $1', [
        messageId,
        split.segmentCount,
        split.encoding,
      ]);
      return true;
    });
  }
}
