import type {
  ComplianceStore,
  ConsentChange,
  ContactInfo,
  InboundForConsent,
  SegmentInfo,
} from '../compliance/ports.ts';
import {
  type CampaignReplies,
  type ComplianceSettings,
  DEFAULT_COMPLIANCE,
  withDefaults,
} from '../compliance/settings.ts';
import { newMessageId } from '../messaging/ids.ts';
import type { MessageDraft } from '../messaging/model.ts';
import { compareContactKeys, FIRST_MESSAGE_TAKEN } from './columns.ts';
import { ContactsRepo } from './contacts-repo.ts';
import type { Db, Queryable } from './db.ts';
import { appendLiveEvents, updateConversations } from './events-repo.ts';
import { MessagesRepo } from './messages-repo.ts';

const _iso = (d: unknown) => (d instanceof Date ? d.toISOString() : d === null ? null : String(d));

export class ComplianceRepo extends ContactsRepo implements ComplianceStore {
  constructor(
    db: Db,
    private readonly defaults: ComplianceSettings = DEFAULT_COMPLIANCE,
  ) {
    super(db);
  }

  async settings(accountIds: readonly string[]): Promise<Map<string, ComplianceSettings>> {
    const out = new Map<string, ComplianceSettings>();
    if (accountIds.length === 0) return out;
    const ids = [...new Set(accountIds)];
    const r = await this.db.query<{ account_id: string; settings: Partial<ComplianceSettings> }>(
      'SELECT account_id, settings FROM account_compliance WHERE account_id = ANY($1::uuid[])',
      [ids],
    );
    for (const row of r.rows) out.set(row.account_id, withDefaults(row.settings, this.defaults));
    for (const id of ids) if (!out.has(id)) out.set(id, this.defaults);
    return out;
  }

  async campaignReplies(numbers: readonly string[]): Promise<Map<string, CampaignReplies>> {
    if (numbers.length === 0) return new Map();
    const r = await this.db.query<{ e164: string; d: Record<string, unknown> }>(
      `SELECT n.e164, c.details AS d FROM numbers n
         JOIN campaigns c ON c.id = n.campaign_id AND c.status = 'approved'
        WHERE n.e164 = ANY($1::text[]) AND n.campaign_status = 'assigned'`,
      [[...new Set(numbers)]],
    );
    const words = (x: unknown) =>
      Array.isArray(x) ? x.filter((k): k is string => typeof k === 'string') : undefined;
    const text = (x: unknown) => (typeof x === 'string' ? x : undefined);
    return new Map(
      r.rows.map(({ e164, d: raw }) => {
        // Details written by other hands may be any JSON: what is not usable is left out.
        const d = raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {};
        return [
          e164,
          {
            optOutKeywords: words(d.optOutKeywords),
            optInKeywords: words(d.optInKeywords),
            helpKeywords: words(d.helpKeywords),
            optOutReply: text(d.optOutReply),
            optInReply: text(d.optInReply),
            helpReply: text(d.helpReply),
          },
        ];
      }),
    );
  }

  async putSettings(accountId: string, s: ComplianceSettings): Promise<void> {
    await this.db.query(
      `INSERT INTO account_compliance (account_id, settings) VALUES ($1, $2)
       ON CONFLICT (account_id) DO UPDATE SET settings = excluded.settings, updated_at = now()`,
      [accountId, JSON.stringify(s)],
    );
  }

  async contactInfo(
    pairs: ReadonlyArray<{ accountId: string; to: string }>,
  ): Promise<Map<string, ContactInfo>> {
    const out = new Map<string, ContactInfo>();
    if (pairs.length === 0) return out;
    const r = await this.db.query<{
      account_id: string;
      e164: string;
      dnd: boolean;
      time_zone: string | null;
    }>(
      `SELECT c.account_id, c.e164, c.dnd, c.time_zone FROM unnest($1::uuid[], $2::text[]) AS k(a, t)
       CROSS JOIN LATERAL (SELECT account_id, e164, dnd, time_zone FROM contacts WHERE account_id = k.a AND e164 = k.t OFFSET 0) c`,
      [pairs.map((p) => p.accountId), pairs.map((p) => p.to)],
      'parley_contact_info',
    );
    for (const x of r.rows) out.set(`${x.account_id} ${x.e164}`, { dnd: x.dnd, timeZone: x.time_zone });
    return out;
  }

  async segmentInfo(
    segs: ReadonlyArray<{ messageId: string; from: string; to: string }>,
  ): Promise<Map<string, SegmentInfo>> {
    const out = new Map<string, SegmentInfo>();
    if (segs.length === 0) return out;
    // The sending number names the account; then the contact and the compliance-reply mark, by key.
    const r = await this.db.query<{
      message_id: string;
      account_id: string;
      known: boolean;
      dnd: boolean | null;
      time_zone: string | null;
      exempt: boolean;
    }>(
      `SELECT k.m AS message_id, n.account_id, c.dnd IS NOT NULL AS known, c.dnd, c.time_zone,
              r.message_id IS NOT NULL AS exempt
       FROM unnest($1::uuid[], $2::text[], $3::text[]) AS k(m, f, t)
       CROSS JOIN LATERAL (SELECT account_id FROM numbers WHERE e164 = k.f OFFSET 0) n
       LEFT JOIN LATERAL (SELECT dnd, time_zone FROM contacts WHERE account_id = n.account_id AND e164 = k.t OFFSET 0) c ON true
       LEFT JOIN LATERAL (SELECT message_id FROM compliance_replies WHERE message_id = k.m OFFSET 0) r ON true`,
      [segs.map((s) => s.messageId), segs.map((s) => s.from), segs.map((s) => s.to)],
      'parley_segment_info',
    );
    for (const x of r.rows)
      out.set(x.message_id, {
        accountId: x.account_id,
        contact: x.known ? { dnd: Boolean(x.dnd), timeZone: x.time_zone } : undefined,
        exempt: x.exempt,
      });
    return out;
  }

  async claimFirstMessages(
    claims: ReadonlyArray<{ accountId: string; to: string; messageId: string }>,
  ): Promise<Set<string>> {
    if (claims.length === 0) return new Set();
    // Sorted by key so that concurrent claims lock contacts in one order (no deadlocks).
    const sorted = [...claims].sort(compareContactKeys);
    const r = await this.db.query<{ first_message_id: string }>(
      `INSERT INTO contacts AS c (id, account_id, e164, first_message_id, first_message_at)
       SELECT k.id, k.a, k.t, k.m, now() FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[]) AS k(id, a, t, m)
       ON CONFLICT (account_id, e164) DO UPDATE SET first_message_id = excluded.first_message_id, first_message_at = now()
       WHERE c.first_message_id IS NULL
          OR (c.first_message_at < now() - interval '1 minute'
              AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = c.first_message_id))
       RETURNING c.first_message_id`,
      [
        // Time-ordered ids: one contact per new recipient lands at the primary key's right edge
        // instead of on a random page of it.
        sorted.map(() => newMessageId()),
        sorted.map((c) => c.accountId),
        sorted.map((c) => c.to),
        sorted.map((c) => c.messageId),
      ],
      'parley_claim_first',
    );
    return new Set(r.rows.map((x) => x.first_message_id));
  }

  async recentCounts(
    pairs: ReadonlyArray<{ accountId: string; to: string; sinceMs: number }>,
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (pairs.length === 0) return out;
    const r = await this.db.query<{ a: string; t: string; n: string }>(
      `SELECT k.a, k.t, c.n FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS k(a, t, ms)
       CROSS JOIN LATERAL (SELECT count(*) AS n FROM messages
                           WHERE account_id = k.a AND to_e164 = k.t AND created_at > now() - k.ms * interval '1 millisecond') c`,
      [pairs.map((p) => p.accountId), pairs.map((p) => p.to), pairs.map((p) => p.sinceMs)],
      // Not a prepared statement: a generic plan made while the tables are empty (a new gateway on
      // a new database) may pick messages_account_created by a hair of cost and keep it, then
      // filter every recent message of the account per recipient (found by the plan test: 43M
      // rows for 200 recipients). Planned per call, it uses messages_account_to on any statistics.
    );
    for (const x of r.rows) out.set(`${x.a} ${x.t}`, Number(x.n));
    return out;
  }

  /** Whether the account's first message to `to` is taken (so no footer would be added now). */
  async hasFirstMessage(accountId: string, to: string): Promise<boolean> {
    const r = await this.db.query(
      `SELECT 1 FROM contacts c WHERE c.account_id = $1 AND c.e164 = $2 AND ${FIRST_MESSAGE_TAKEN}`,
      [accountId, to],
    );
    return r.rowCount > 0;
  }

  private static toInbound(r: Record<string, unknown>): InboundForConsent {
    return {
      id: r.id as string,
      accountId: r.account_id as string,
      from: r.from_e164 as string,
      to: r.to_e164 as string,
      body: r.body as string,
    };
  }

  async unhandled(limit: number, olderThanMs: number): Promise<InboundForConsent[]> {
    const r = await this.db.query(
      `SELECT id, account_id, from_e164, to_e164, body FROM inbound_messages
       WHERE handled_at IS NULL AND account_id IS NOT NULL
         AND received_at < now() - $2 * interval '1 millisecond'
       ORDER BY received_at LIMIT $1`,
      [limit, olderThanMs],
    );
    return r.rows.map(ComplianceRepo.toInbound);
  }

  async inbound(ids: readonly string[]): Promise<InboundForConsent[]> {
    if (ids.length === 0) return [];
    const r = await this.db.query(
      `SELECT m.id, m.account_id, m.from_e164, m.to_e164, m.body FROM unnest($1::uuid[]) AS k(id)
       CROSS JOIN LATERAL (SELECT * FROM inbound_messages WHERE id = k.id OFFSET 0) m
       WHERE m.account_id IS NOT NULL AND m.handled_at IS NULL`,
      [ids],
    );
    return r.rows.map(ComplianceRepo.toInbound);
  }

  async markHandled(ids: readonly string[], review: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const rev = new Set(review);
    // The message, and the thread of a maybe-opt-out flagged for a person to look at.
    if (rev.size === 0) {
      await this.db.query(
        'UPDATE inbound_messages SET handled_at = now() WHERE id = ANY($1::uuid[])',
        [ids],
        'parley_consent_handled',
      );
      return;
    }
    await updateConversations(
      this.db,
      `UPDATE conversations v SET needs_review = true
       FROM m JOIN contacts c ON c.account_id = m.account_id AND c.e164 = m.from_e164
       WHERE m.needs_review AND v.account_id = c.account_id AND v.contact_id = c.id RETURNING v.*`,
      [ids, ids.map((id) => rev.has(id))],
      `m AS (
         UPDATE inbound_messages m SET handled_at = now(), needs_review = k.r
         FROM unnest($1::uuid[], $2::boolean[]) AS k(id, r) WHERE m.id = k.id
         RETURNING m.account_id, m.from_e164, m.needs_review
       )`,
    );
  }

  private static async upsertContact(q: Queryable, accountId: string, e164: string): Promise<string> {
    const r = await q.query<{ id: string }>(
      `INSERT INTO contacts (id, account_id, e164) VALUES ($1, $2, $3)
       ON CONFLICT (account_id, e164) DO UPDATE SET e164 = excluded.e164
       RETURNING id`,
      [newMessageId(), accountId, e164],
    );
    return r.rows[0]!.id;
  }

  applyConsent(
    change: ConsentChange,
    reply: MessageDraft | undefined,
  ): Promise<{ changed: boolean; contactId: string }> {
    return this.db.tx(async (q) => {
      const contactId = await ComplianceRepo.upsertContact(q, change.accountId, change.contact);
      if (change.inboundMessageId) {
        const seen = await q.query('SELECT 1 FROM consent_events WHERE inbound_message_id = $1', [
          change.inboundMessageId,
        ]);
        if (seen.rowCount > 0) return { changed: false, contactId };
      }
      const dnd = change.action === 'opt_out';
      // The row lock taken here orders concurrent changes of one contact (two instances, two STOPs).
      const flipped = await q.query(
        `UPDATE contacts SET dnd = $2, dnd_source = $3, dnd_changed_at = clock_timestamp(), updated_at = now()
         WHERE id = $1 AND dnd <> $2`,
        [contactId, dnd, change.source],
      );
      if (flipped.rowCount === 0) return { changed: false, contactId };
      await q.query(
        `INSERT INTO consent_events (account_id, contact_id, action, source, keyword, raw_text, number, inbound_message_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          change.accountId,
          contactId,
          change.action,
          change.source,
          change.keyword ?? null,
          change.rawText ?? null,
          change.number ?? null,
          change.inboundMessageId ?? null,
        ],
      );
      await appendLiveEvents(q, [
        {
          accountId: change.accountId,
          type: change.action === 'opt_out' ? 'contact.opted_out' : 'contact.opted_in',
          data: {
            contact: { id: contactId, number: change.contact },
            source: change.source,
            keyword: change.keyword ?? null,
            number: change.number ?? null,
            inboundMessageId: change.inboundMessageId ?? null,
            at: new Date().toISOString(),
          },
        },
      ]);
      if (reply) {
        await q.query(
          'INSERT INTO compliance_replies (message_id, inbound_message_id, kind) VALUES ($1, $2, $3)',
          [reply.id, change.inboundMessageId ?? null, change.action],
        );
        await MessagesRepo.insertDraftsWith(q, [reply], new Date());
      }
      return { changed: true, contactId };
    });
  }

  storeHelpReply(inboundMessageId: string, reply: MessageDraft): Promise<boolean> {
    return this.db.tx(async (q) => {
      const r = await q.query(
        `INSERT INTO compliance_replies (message_id, inbound_message_id, kind) VALUES ($1, $2, 'help')
         ON CONFLICT (inbound_message_id) DO NOTHING`,
        [reply.id, inboundMessageId],
      );
      if (r.rowCount === 0) return false;
      await MessagesRepo.insertDraftsWith(q, [reply], new Date());
      return true;
    });
  }

  async accountNumbers(accountId: string): Promise<string[]> {
    const r = await this.db.query<{ e164: string }>('SELECT e164 FROM numbers WHERE account_id = $1', [
      accountId,
    ]);
    return r.rows.map((x) => x.e164);
  }
}
