import { createHash, randomUUID } from 'node:crypto';
import type { InboundEvent } from '../messaging/events.ts';
import {
  type InboundRecord,
  type InboundStore,
  type PartRecord,
  storableText,
} from '../messaging/inbound.ts';
import { joinMoParts } from '../smpp/inbound.ts';
import { columns, pushRow } from './columns.ts';
import type { Db, Queryable } from './db.ts';
import { conversationJson, LIVE_EVENTS_SQL } from './events-repo.ts';

const iso = (v: unknown) => (v instanceof Date ? v : new Date(String(v))).toISOString();
const partHash = (raw: Buffer) => createHash('sha256').update(raw).digest('base64url').slice(0, 22);

interface Inserted {
  id: string;
  account_id: string | null;
  from_e164: string;
  to_e164: string;
  segments: number;
  complete: boolean;
  carrier_id: string;
  received_at: unknown;
}

interface GroupKey {
  from_e164: string;
  to_e164: string;
  ref: number;
  total: number;
}

const keyOf = (g: { from_e164: string; to_e164: string; ref: number; total: number }) =>
  `${g.from_e164}\u0000${g.to_e164}\u0000${g.ref}\u0000${g.total}`;

function toEvent(r: Inserted): InboundEvent {
  return {
    id: r.id,
    accountId: r.account_id,
    from: r.from_e164,
    to: r.to_e164,
    segments: Number(r.segments),
    complete: Boolean(r.complete),
    carrierId: r.carrier_id,
    receivedAt: iso(r.received_at),
  };
}

/** Inbound messages and the parts of concatenated ones, attributed by destination number. */
export class InboundRepo implements InboundStore {
  constructor(private readonly db: Db) {}

  private static async insert(q: Queryable, msgs: InboundRecord[]): Promise<InboundEvent[]> {
    if (msgs.length === 0) return [];
    const cols = columns(9);
    for (const m of msgs)
      pushRow(cols, [
        m.id,
        m.from,
        m.to,
        m.body,
        m.segments,
        m.complete,
        m.carrierId,
        m.raw.toString('hex'),
        m.dataCoding,
      ]);
    // The contact (created on first reply) and the conversation (to the top, unread counted) are
    // kept in the same statement: never behind what was stored, whichever instance stored it.
    const r = await q.query<Inserted>(
      `WITH ins AS (
         INSERT INTO inbound_messages (id, account_id, from_e164, to_e164, body, segments, complete, carrier_id, raw, data_coding)
         SELECT x.id, (SELECT n.account_id FROM numbers n WHERE n.e164 = x.t), x.f, x.t, x.b, x.s, x.c, x.carrier,
                decode(x.raw, 'hex'), x.dc
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::boolean[], $7::text[], $8::text[], $9::int[])
           AS x(id, f, t, b, s, c, carrier, raw, dc)
         RETURNING id, account_id, from_e164, to_e164, body, segments, complete, carrier_id, received_at
       ), latest AS (
         SELECT DISTINCT ON (account_id, from_e164) account_id, from_e164, to_e164, left(body, 160) AS preview,
                received_at, count(*) OVER (PARTITION BY account_id, from_e164) AS n
         FROM ins WHERE account_id IS NOT NULL
         ORDER BY account_id, from_e164, received_at DESC, id DESC
       ), contact AS (
         INSERT INTO contacts AS c (id, account_id, e164)
         SELECT gen_random_uuid(), account_id, from_e164 FROM latest
         ON CONFLICT (account_id, e164) DO UPDATE SET e164 = excluded.e164
         RETURNING c.id, c.account_id, c.e164, c.name, c.dnd
       ), conv AS (
         INSERT INTO conversations AS v (id, account_id, contact_id, contact_e164, last_message_at, last_direction,
                                         last_preview, last_number, contact_last_texted, unread_count)
         SELECT gen_random_uuid(), l.account_id, k.id, l.from_e164, l.received_at, 'inbound', l.preview, l.to_e164,
                l.to_e164, l.n
         FROM latest l JOIN contact k ON k.account_id = l.account_id AND k.e164 = l.from_e164
         ORDER BY l.account_id, l.from_e164
         ON CONFLICT (account_id, contact_id) DO UPDATE SET
           last_message_at = GREATEST(v.last_message_at, excluded.last_message_at), last_direction = 'inbound',
           last_preview = excluded.last_preview, last_number = excluded.last_number,
           contact_last_texted = excluded.contact_last_texted,
           unread_count = v.unread_count + excluded.unread_count
         RETURNING v.id, v.account_id, v.contact_id, v.contact_e164, v.last_message_at, v.last_direction,
                   v.last_preview, v.last_number, v.unread_count, v.needs_review
       ), ev AS (
         -- The live inbox's events, numbered per account in this statement (see LIVE_EVENTS_SQL).
         SELECT i.account_id, 1 AS o, i.received_at AS at, i.id::text AS k, 'message.inbound' AS type,
                jsonb_build_object('id', i.id, 'conversationId', v.id, 'from', i.from_e164, 'to', i.to_e164,
                                   'body', i.body, 'segments', i.segments, 'complete', i.complete,
                                   'receivedAt', i.received_at) AS data
         FROM ins i LEFT JOIN conv v ON v.account_id = i.account_id AND v.contact_e164 = i.from_e164
         WHERE i.account_id IS NOT NULL
         UNION ALL
         SELECT v.account_id, 2, v.last_message_at, v.id::text, 'conversation.updated',
                ${conversationJson('v', 'k')}
         FROM conv v JOIN contact k ON k.id = v.contact_id
       ), ${LIVE_EVENTS_SQL}, hook AS (
         INSERT INTO webhook_deliveries (message_id, account_id, url, seq, body)
         SELECT i.id, i.account_id, COALESCE(w.nu, w.au), 1,
                json_build_object('type', 'message.inbound', 'id', i.id, 'from', i.from_e164, 'to', i.to_e164,
                                  'body', i.body, 'segments', i.segments, 'complete', i.complete,
                                  'receivedAt', i.received_at)::text
         -- The number's own URL, else the account's.
         FROM ins i CROSS JOIN LATERAL (
           SELECT (SELECT inbound_url FROM numbers WHERE e164 = i.to_e164 AND account_id = i.account_id) AS nu,
                  (SELECT inbound_url FROM account_webhooks WHERE account_id = i.account_id) AS au OFFSET 0) w
         WHERE i.account_id IS NOT NULL AND COALESCE(w.nu, w.au) IS NOT NULL
       )
       SELECT id, account_id, from_e164, to_e164, segments, complete, carrier_id, received_at FROM ins`,
      cols,
      'parley_inbound_insert',
    );
    return r.rows.map(toEvent);
  }

  storeMessages(msgs: InboundRecord[]): Promise<InboundEvent[]> {
    return InboundRepo.insert(this.db, msgs);
  }

  /**
   * Stores parts and completes their groups in one transaction. Group rows are locked first (in
   * key order, so concurrent writers never deadlock), then new parts are counted into them: the
   * transaction that adds the last part sees the full count and joins the message. A part of a
   * group already delivered is a resend when its octets match (dropped), else a new message that
   * reuses the reference (the old tombstone goes).
   */
  async storeParts(parts: PartRecord[]): Promise<InboundEvent[]> {
    const unique = new Map<string, PartRecord>();
    for (const p of parts)
      unique.set(`${p.from}\u0000${p.to}\u0000${p.ref}\u0000${p.total}\u0000${p.seq}`, p);
    const groups = new Map<string, { key: GroupKey; carrierId: string; timeoutMs: number }>();
    for (const p of unique.values()) {
      const key = { from_e164: p.from, to_e164: p.to, ref: p.ref, total: p.total };
      groups.set(keyOf(key), { key, carrierId: p.carrierId, timeoutMs: p.timeoutMs });
    }
    const sorted = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return this.db.tx(async (q) => {
      const gk = columns(4);
      for (const [, g] of sorted) pushRow(gk, [g.key.from_e164, g.key.to_e164, g.key.ref, g.key.total]);
      const existing = await q.query<GroupKey & { done: boolean; part_hashes: string[] | null }>(
        `SELECT g.from_e164, g.to_e164, g.ref, g.total, g.completed_at IS NOT NULL AS done, g.part_hashes
         FROM unnest($1::text[], $2::text[], $3::int[], $4::int[]) WITH ORDINALITY AS k(f, t, ref, total, ord)
         CROSS JOIN LATERAL (
           SELECT * FROM mo_groups WHERE from_e164 = k.f AND to_e164 = k.t AND ref = k.ref AND total = k.total
           FOR UPDATE OFFSET 0) g
         ORDER BY k.ord`,
        gk,
      );
      const tombstones = new Map(
        existing.rows.filter((g) => g.done).map((g) => [keyOf(g), g.part_hashes ?? []]),
      );
      const reset = new Set<string>();
      const cols = columns(8);
      for (const p of unique.values()) {
        const k = keyOf({ from_e164: p.from, to_e164: p.to, ref: p.ref, total: p.total });
        const hashes = tombstones.get(k);
        if (hashes && !reset.has(k)) {
          if (hashes[p.seq - 1] === partHash(p.raw)) continue; // a resend of a delivered part
          reset.add(k);
        }
        pushRow(cols, [p.from, p.to, p.ref, p.total, p.seq, p.dataCoding, p.body, p.raw.toString('hex')]);
      }
      for (const k of reset) {
        const g = groups.get(k)!.key;
        const key = [g.from_e164, g.to_e164, g.ref, g.total];
        await q.query(
          'DELETE FROM mo_groups WHERE from_e164 = $1 AND to_e164 = $2 AND ref = $3 AND total = $4',
          key,
        );
        await q.query(
          'DELETE FROM mo_parts WHERE from_e164 = $1 AND to_e164 = $2 AND ref = $3 AND total = $4',
          key,
        );
      }
      if (cols[0]!.length === 0) return [];
      const added = await q.query<GroupKey & { n: number }>(
        `WITH p AS (
           INSERT INTO mo_parts (from_e164, to_e164, ref, total, seq, data_coding, body, raw)
           SELECT f, t, ref, total, seq, dc, body, decode(raw, 'hex')
           FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[], $6::int[], $7::text[], $8::text[])
             AS x(f, t, ref, total, seq, dc, body, raw)
           ON CONFLICT DO NOTHING
           RETURNING from_e164, to_e164, ref, total)
         SELECT from_e164, to_e164, ref, total, count(*)::int AS n FROM p GROUP BY 1, 2, 3, 4`,
        cols,
      );
      const up = columns(7);
      for (const a of added.rows) {
        const g = groups.get(keyOf(a))!;
        pushRow(up, [a.from_e164, a.to_e164, a.ref, a.total, g.carrierId, Number(a.n), g.timeoutMs]);
      }
      const counted = await q.query<GroupKey & { received: number; done: boolean }>(
        `INSERT INTO mo_groups (from_e164, to_e164, ref, total, carrier_id, received, deadline)
         SELECT f, t, ref, total, carrier, n, now() + ms * interval '1 millisecond'
         FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::text[], $6::int[], $7::int[])
           AS x(f, t, ref, total, carrier, n, ms)
         ORDER BY f, t, ref, total
         ON CONFLICT (from_e164, to_e164, ref, total) DO UPDATE SET received = mo_groups.received + EXCLUDED.received
         RETURNING from_e164, to_e164, ref, total, received, completed_at IS NOT NULL AS done`,
        up,
        'parley_mo_groups',
      );
      const done = counted.rows.filter((r) => !r.done && Number(r.received) >= Number(r.total));
      return this.complete(q, done, true, (k) => groups.get(keyOf(k))?.timeoutMs ?? 60_000);
    });
  }

  /**
   * Joins groups into inbound messages, removes their parts and leaves a tombstone (with the
   * parts' hashes) until its deadline.
   */
  private async complete(
    q: Queryable,
    groups: Array<GroupKey & { carrier_id?: string }>,
    complete: boolean,
    tombstoneMs: (g: GroupKey) => number,
  ): Promise<InboundEvent[]> {
    if (groups.length === 0) return [];
    const keys = columns(5);
    for (const g of groups) pushRow(keys, [g.from_e164, g.to_e164, g.ref, g.total, tombstoneMs(g)]);
    const parts = await q.query<
      GroupKey & { seq: number; data_coding: number; body: string; raw: Uint8Array }
    >(
      `DELETE FROM mo_parts p USING unnest($1::text[], $2::text[], $3::int[], $4::int[]) AS k(f, t, ref, total)
       WHERE p.from_e164 = k.f AND p.to_e164 = k.t AND p.ref = k.ref AND p.total = k.total
       RETURNING p.from_e164, p.to_e164, p.ref, p.total, p.seq, p.data_coding, p.body, p.raw`,
      keys.slice(0, 4),
    );
    const byGroup = new Map<string, Array<{ seq: number; dataCoding: number; text: string; raw: Buffer }>>();
    for (const p of parts.rows) {
      const list = byGroup.get(keyOf(p)) ?? [];
      list.push({
        seq: Number(p.seq),
        dataCoding: Number(p.data_coding),
        text: p.body,
        raw: Buffer.from(p.raw),
      });
      byGroup.set(keyOf(p), list);
    }
    const hashes: string[] = [];
    for (const g of groups) {
      const h: string[] = Array.from({ length: Number(g.total) }, () => '');
      for (const p of byGroup.get(keyOf(g)) ?? [])
        if (p.seq >= 1 && p.seq <= h.length) h[p.seq - 1] = partHash(p.raw);
      hashes.push(h.join(','));
    }
    const tomb = await q.query<GroupKey & { carrier_id: string }>(
      `UPDATE mo_groups g SET completed_at = now(), part_hashes = string_to_array(k.h, ','),
              deadline = now() + k.ms * interval '1 millisecond'
       FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[], $6::text[]) AS k(f, t, ref, total, ms, h)
       WHERE g.from_e164 = k.f AND g.to_e164 = k.t AND g.ref = k.ref AND g.total = k.total
       RETURNING g.from_e164, g.to_e164, g.ref, g.total, g.carrier_id`,
      [...keys, hashes],
    );
    const carrierOf = new Map(tomb.rows.map((r) => [keyOf(r), r.carrier_id]));
    const msgs: InboundRecord[] = groups.map((grp) => {
      const stored = byGroup.get(keyOf(grp)) ?? [];
      const joined = joinMoParts(Number(grp.total), stored);
      return {
        id: randomUUID(),
        carrierId: carrierOf.get(keyOf(grp)) ?? grp.carrier_id ?? '',
        from: grp.from_e164,
        to: grp.to_e164,
        body: storableText(joined.text),
        raw: joined.raw,
        dataCoding: stored[0]?.dataCoding ?? 0,
        segments: Number(grp.total),
        complete: complete && joined.complete,
      };
    });
    return InboundRepo.insert(q, msgs);
  }

  /** Delivers groups past their deadline as incomplete messages; drops tombstones past theirs. */
  async expireGroups(limit: number): Promise<InboundEvent[]> {
    return this.db.tx(async (q) => {
      const g = await q.query<
        GroupKey & { carrier_id: string; done: boolean; first_at: unknown; deadline: unknown }
      >(
        `SELECT from_e164, to_e164, ref, total, carrier_id, completed_at IS NOT NULL AS done, first_at, deadline
         FROM mo_groups WHERE deadline < now()
         ORDER BY deadline LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      const due: Array<GroupKey & { carrier_id: string }> = [];
      for (const row of g.rows) {
        if (!row.done) {
          due.push(row);
          continue;
        }
        const key = [row.from_e164, row.to_e164, row.ref, row.total];
        await q.query(
          'DELETE FROM mo_groups WHERE from_e164 = $1 AND to_e164 = $2 AND ref = $3 AND total = $4',
          key,
        );
        await q.query(
          'DELETE FROM mo_parts WHERE from_e164 = $1 AND to_e164 = $2 AND ref = $3 AND total = $4',
          key,
        );
      }
      // The tombstone of a timed-out group lasts as long as the group waited.
      return this.complete(q, due, false, () => 60_000);
    });
  }
}
