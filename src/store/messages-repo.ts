import { newMessageId } from '../messaging/ids.ts';
import type { MessageDraft } from '../messaging/model.ts';
import type { MessageStore, MessageView } from '../messaging/ports.ts';
import { compareContactKeys, pushRow } from './columns.ts';
import type { Db, Queryable } from './db.ts';

export type StoredMessage = MessageView;

export interface MessageDetail extends StoredMessage {
  parts: Array<{
    index: number;
    status: string;
    carrier: string | null;
    smscMessageId: string | null;
    attempts: number;
    possibleDuplicate: boolean;
    errorCode: string | null;
    reason: string | null;
    submittedAt: string | null;
    doneAt: string | null;
    /** When a part that waits (queued or scheduled) is tried next. */
    nextAttemptAt: string | null;
  }>;
  history: Array<{ status: string; reason: string | null; at: string }>;
  /** Tracked short links of the body and their counted clicks (bots not counted). */
  links: Array<{
    code: string;
    url: string;
    clicks: number;
    firstClickAt: string | null;
    lastClickAt: string | null;
  }>;
  clicked: { total: number; unique: number };
}

export interface ListFilter {
  status?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  createdAfter?: Date | undefined;
  createdBefore?: Date | undefined;
  cursor?: { createdAt: Date; id: string } | undefined;
  limit: number;
}

const iso = (d: unknown) =>
  d instanceof Date ? d.toISOString() : d == null ? null : new Date(String(d)).toISOString();

const MESSAGE_COLUMNS = `id, from_e164, to_e164, body, status, reason, error_code, encoding, segments, possible_duplicate,
  status_callback, metadata, send_at, created_at, updated_at`;

function toMessage(r: Record<string, unknown>): StoredMessage {
  return {
    id: r.id as string,
    from: r.from_e164 as string,
    to: r.to_e164 as string,
    body: r.body as string,
    status: r.status as string,
    reason: (r.reason as string | null) ?? null,
    errorCode: (r.error_code as string | null) ?? null,
    encoding: r.encoding as string,
    segments: Number(r.segments),
    possibleDuplicate: Boolean(r.possible_duplicate),
    statusCallback: (r.status_callback as string | null) ?? null,
    metadata: (r.metadata as Record<string, unknown> | null) ?? null,
    sendAt: iso(r.send_at),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

const INSERT_SQL = `
WITH m AS (
  INSERT INTO messages (id, account_id, from_e164, to_e164, number_type, body, encoding, segments, status, status_rank,
                        status_callback, metadata, send_at, expires_at, idempotency_key, request_hash, created_at, updated_at)
  SELECT x.id, x.account_id, x.from_e164, x.to_e164, x.number_type, x.body, x.encoding, x.segments, x.status, 0,
         x.status_callback, x.metadata::jsonb, x.send_at, x.expires_at, x.idem, x.hash, x.created_at, x.created_at
  FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[],
              $10::text[], $11::text[], $12::timestamptz[], $13::timestamptz[], $14::text[], $15::text[], $16::timestamptz[],
              $42::boolean[], $43::boolean[], $44::text[])
       AS x(id, account_id, from_e164, to_e164, number_type, body, encoding, segments, status, status_callback, metadata,
            send_at, expires_at, idem, hash, created_at, guessed, check_default, guessed_default)
  -- A draft prepared on the guess that its recipient is no contact (and, when it did not name its
  -- sender, that the account's default number is this one) is stored only if that is still true
  -- when the statement runs; the caller prepares a skipped one again from what is stored. Each
  -- guess is one probe by unique key (OFFSET 0: a sub-plan per row, never a join or a scan).
  WHERE NOT x.guessed
     OR (NOT EXISTS (SELECT 1 FROM contacts k WHERE k.account_id = x.account_id AND k.e164 = x.to_e164 OFFSET 0)
         AND (NOT x.check_default
              OR (SELECT a.default_number FROM accounts a WHERE a.id = x.account_id OFFSET 0)
                 IS NOT DISTINCT FROM x.guessed_default))
  ON CONFLICT (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING id, status, created_at
), s AS (
  INSERT INTO segments (message_id, idx, parts, status, status_rank, from_e164, to_e164, number_type, payload, data_coding,
                        esm_class, use_payload_tlv, next_attempt_at, expires_at, profile)
  SELECT x.message_id, x.idx, x.parts, x.status, 0, x.from_e164, x.to_e164, x.number_type, decode(x.payload, 'hex'), x.dc, x.esm,
         x.tlv, x.next_at, x.expires_at, x.profile
  FROM unnest($17::uuid[], $18::int[], $19::text[], $20::text[], $21::text[], $22::text[], $23::int[], $24::int[],
              $25::boolean[], $26::timestamptz[], $27::timestamptz[], $28::int[], $29::text[], $30::boolean[], $31::text[])
       AS x(message_id, idx, from_e164, to_e164, number_type, payload, dc, esm, tlv, next_at, expires_at, parts, status, skippable, profile)
  -- Fresh random ids cannot conflict; only idempotent and guessed drafts may have been skipped above.
  WHERE NOT x.skippable OR x.message_id IN (SELECT id FROM m)
), l AS (
  INSERT INTO links (code, message_id, account_id, from_e164, url)
  SELECT x.code, x.message_id, x.account_id, x.from_e164, x.url
  FROM unnest($32::text[], $33::uuid[], $34::uuid[], $35::text[], $36::text[]) AS x(code, message_id, account_id, from_e164, url)
  WHERE x.message_id IN (SELECT id FROM m)
), c AS (
  -- A contact is created on the first send to it (a reply creates it too). The keys come sorted
  -- (compareContactKeys), as in every statement that inserts contacts: concurrent batches wait, never deadlock.
  INSERT INTO contacts (id, account_id, e164)
  SELECT x.id, x.account_id, x.e164
  FROM unnest($37::uuid[], $38::uuid[], $39::text[], $40::uuid[], $41::boolean[]) AS x(id, account_id, e164, message_id, skippable)
  WHERE NOT x.skippable OR x.message_id IN (SELECT id FROM m)
  ON CONFLICT (account_id, e164) DO NOTHING
)
SELECT id FROM m`;

/** The insert may skip this draft: an idempotent replay, or a guess about its recipient proved wrong. */
const skippable = (d: MessageDraft) => d.idempotencyKey !== undefined || d.guess !== undefined;

/** Messages: batched inserts for the accept path, and account-scoped reads. */
export class MessagesRepo implements MessageStore {
  constructor(private readonly db: Db) {}

  /**
   * Inserts drafts in one statement. Returns the ids actually inserted: a draft whose
   * (account, idempotency key) already exists, or whose `guess` is no longer true, is skipped,
   * for the caller to resolve.
   */
  insertDrafts(drafts: MessageDraft[], now: Date): Promise<Set<string>> {
    return MessagesRepo.insertDraftsWith(this.db, drafts, now);
  }

  /** The accept insert on any connection or transaction (compliance replies commit with their cause). */
  static async insertDraftsWith(q: Queryable, drafts: MessageDraft[], now: Date): Promise<Set<string>> {
    if (drafts.length === 0) return new Set();
    const m: unknown[][] = Array.from({ length: 16 }, () => []);
    const g: unknown[][] = [[], [], []];
    const s: unknown[][] = Array.from({ length: 15 }, () => []);
    const at = now.toISOString();
    for (const d of drafts) {
      const status = d.sendAt ? 'scheduled' : 'queued';
      // Each date printed once per draft (toISOString is not free at tens of thousands a second).
      const expires = d.expiresAt.toISOString();
      const next = d.sendAt ? d.sendAt.toISOString() : at;
      const row = [
        d.id,
        d.accountId,
        d.from,
        d.to,
        d.numberType,
        d.body,
        d.encoding,
        d.segmentCount,
        status,
        d.statusCallback ?? null,
        d.metadata ? JSON.stringify(d.metadata) : null,
        d.sendAt ? next : null,
        expires,
        d.idempotencyKey ?? null,
        d.requestHash ?? null,
        at,
      ];
      pushRow(m, row);
      pushRow(g, [
        d.guess !== undefined,
        d.guess !== undefined && d.guess.accountDefault !== undefined,
        d.guess?.accountDefault ?? null,
      ]);
      const skip = skippable(d);
      for (const seg of d.segments) {
        const srow = [
          d.id,
          seg.idx,
          d.from,
          d.to,
          d.numberType,
          seg.payload.toString('hex'),
          seg.dataCoding,
          seg.esmClass,
          seg.usePayloadTlv,
          next,
          expires,
          d.segments.length,
          status,
          skip,
          d.profile,
        ];
        pushRow(s, srow);
      }
    }
    const l: unknown[][] = Array.from({ length: 5 }, () => []);
    for (const d of drafts)
      for (const link of d.links ?? []) pushRow(l, [link.code, d.id, d.accountId, d.from, link.url]);
    // One contact row per recipient not known to be stored already (read by the sender hints or
    // upserted by the footer claim), tied to a draft that is surely inserted when there is one;
    // else to each draft of the recipient that may be skipped above (an idempotent replay, a
    // guess proved wrong), created with whichever of them is stored.
    // null: some draft of the batch knows the contact is stored.
    const byKey = new Map<string, MessageDraft[] | null>();
    for (const d of drafts) {
      const k = `${d.accountId} ${d.to}`;
      const had = byKey.get(k);
      if (had === null) continue;
      if (d.contactStored === true) byKey.set(k, null);
      else if (had === undefined || (!skippable(d) && skippable(had[0]!))) byKey.set(k, [d]);
      else if (skippable(d) && skippable(had[0]!)) had.push(d);
    }
    const c: unknown[][] = Array.from({ length: 5 }, () => []);
    const create: MessageDraft[] = [];
    for (const ds of byKey.values()) if (ds !== null) create.push(...ds);
    // Time-ordered ids: a new contact lands at the primary key's right edge, not on a random page.
    for (const d of create.sort(compareContactKeys))
      pushRow(c, [newMessageId(), d.accountId, d.to, d.id, skippable(d)]);
    const r = await q.query<{ id: string }>(
      INSERT_SQL,
      [...m, ...s, ...l, ...c, ...g],
      'parley_insert_drafts',
    );
    return new Set(r.rows.map((x) => x.id));
  }

  async storedIds(ids: string[]): Promise<Set<string>> {
    const r = await this.db.query<{ id: string }>(
      `SELECT m.id FROM unnest($1::uuid[]) AS k(id)
       CROSS JOIN LATERAL (SELECT id FROM messages WHERE id = k.id OFFSET 0) m`,
      [ids],
    );
    return new Set(r.rows.map((x) => x.id));
  }

  /** Existing messages for idempotency keys of one account: key → {id, hash, message}. */
  async byIdempotencyKeys(
    accountId: string,
    keys: string[],
  ): Promise<Map<string, { hash: string; message: StoredMessage }>> {
    const out = new Map<string, { hash: string; message: StoredMessage }>();
    if (keys.length === 0) return out;
    const r = await this.db.query<Record<string, unknown>>(
      `SELECT ${MESSAGE_COLUMNS}, idempotency_key, request_hash FROM messages WHERE account_id = $1 AND idempotency_key = ANY($2::text[])`,
      [accountId, keys],
    );
    for (const row of r.rows)
      out.set(row.idempotency_key as string, { hash: row.request_hash as string, message: toMessage(row) });
    return out;
  }

  /** One message with its parts and status history; undefined when absent or another account's. */
  async get(accountId: string, id: string): Promise<MessageDetail | undefined> {
    const r = await this.db.query<Record<string, unknown>>(
      `SELECT ${MESSAGE_COLUMNS}, sending_at, sent_at, final_at FROM messages WHERE id = $1 AND account_id = $2`,
      [id, accountId],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    const segs = await this.db.query<Record<string, unknown>>(
      `SELECT idx, status, carrier_id, smsc_id, attempts, possible_duplicate, error_code, reason, submitted_at, done_at,
              CASE WHEN status IN ('queued', 'scheduled') THEN next_attempt_at END AS next_attempt_at
       FROM segments WHERE message_id = $1 ORDER BY idx`,
      [id],
    );
    const links = await this.db.query<Record<string, unknown>>(
      'SELECT code, url, clicks, first_click_at, last_click_at FROM links WHERE message_id = $1 ORDER BY created_at, code',
      [id],
    );
    const history: MessageDetail['history'] = [
      { status: row.send_at ? 'scheduled' : 'queued', reason: null, at: iso(row.created_at)! },
    ];
    if (row.sending_at) history.push({ status: 'sending', reason: null, at: iso(row.sending_at)! });
    if (row.sent_at) history.push({ status: 'sent', reason: null, at: iso(row.sent_at)! });
    if (row.final_at)
      history.push({
        status: row.status as string,
        reason: (row.reason as string | null) ?? null,
        at: iso(row.final_at)!,
      });
    return {
      ...toMessage(row),
      parts: segs.rows.map((s) => ({
        index: Number(s.idx),
        status: s.status as string,
        carrier: (s.carrier_id as string | null) ?? null,
        smscMessageId: (s.smsc_id as string | null) ?? null,
        attempts: Number(s.attempts),
        possibleDuplicate: Boolean(s.possible_duplicate),
        errorCode: (s.error_code as string | null) ?? null,
        reason: (s.reason as string | null) ?? null,
        submittedAt: iso(s.submitted_at),
        doneAt: iso(s.done_at),
        nextAttemptAt: iso(s.next_attempt_at),
      })),
      history,
      links: links.rows.map((l) => ({
        code: l.code as string,
        url: l.url as string,
        clicks: Number(l.clicks),
        firstClickAt: iso(l.first_click_at),
        lastClickAt: iso(l.last_click_at),
      })),
      clicked: {
        total: links.rows.reduce((n, l) => n + Number(l.clicks), 0),
        unique: links.rows.filter((l) => Number(l.clicks) > 0).length,
      },
    };
  }

  /** A page of an account's messages, newest first, keyset-paginated on (created_at, id). */
  async list(accountId: string, f: ListFilter): Promise<StoredMessage[]> {
    const where = ['account_id = $1'];
    const params: unknown[] = [accountId];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.status) add('status = ?', f.status);
    if (f.from) add('from_e164 = ?', f.from);
    if (f.to) add('to_e164 = ?', f.to);
    if (f.createdAfter) add('created_at >= ?', f.createdAfter.toISOString());
    if (f.createdBefore) add('created_at < ?', f.createdBefore.toISOString());
    if (f.cursor) {
      params.push(f.cursor.createdAt.toISOString(), f.cursor.id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(f.limit);
    const r = await this.db.query<Record<string, unknown>>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return r.rows.map(toMessage);
  }
}
