import type { OverLimitSource } from '../limits/over-limit.ts';
import { campaignClass, type SenderProfile } from '../limits/policy-table.ts';
import type { DailyReturn, DailyTake, LimitsStore } from '../limits/ports.ts';
import type { NumberType } from '../messaging/vocabulary.ts';
import type { Db } from './db.ts';

/** The rate limits' reads and counters (see LimitsStore). */
export class LimitsRepo implements LimitsStore, OverLimitSource {
  constructor(private readonly db: Db) {}

  async senderProfiles(e164s: readonly string[]): Promise<Map<string, SenderProfile>> {
    if (e164s.length === 0) return new Map();
    const r = await this.db.query<{
      e164: string;
      type: NumberType;
      rate: number | null;
      campaign_id: string | null;
      use_case: string | null;
      brand_id: string | null;
      class: string | null;
    }>(
      `SELECT n.e164, n.type, n.max_segments_per_second AS rate, c.id AS campaign_id,
              c.details->>'useCase' AS use_case, b.id AS brand_id, b.throughput_class AS class
         FROM numbers n
         LEFT JOIN campaigns c ON c.id = n.campaign_id AND n.campaign_status = 'assigned' AND c.status = 'approved'
         LEFT JOIN brands b ON b.id = c.brand_id
        WHERE n.e164 = ANY($1::text[])`,
      [e164s],
      'parley_sender_limits',
    );
    return new Map(
      r.rows.map((x) => {
        const cls = x.campaign_id ? campaignClass(x.use_case ?? '', x.class) : undefined;
        const p: SenderProfile = {
          e164: x.e164,
          type: x.type,
          ...(x.rate !== null ? { perSecondOverride: Number(x.rate) } : {}),
          ...(x.campaign_id && cls
            ? { campaignId: x.campaign_id, throughputClass: cls, brandId: x.brand_id ?? undefined }
            : {}),
        };
        return [x.e164, p];
      }),
    );
  }

  async takeDaily(day: string, takes: ReadonlyArray<DailyTake>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    // A brand named twice is one take (its wants added, the tighter cap): ON CONFLICT cannot
    // update one row twice in a statement, and would fail the batch.
    const merged = new Map<string, DailyTake>();
    for (const t of takes) {
      if (!(t.want > 0)) continue;
      const m = merged.get(t.brandId);
      if (m)
        merged.set(t.brandId, { brandId: t.brandId, want: m.want + t.want, cap: Math.min(m.cap, t.cap) });
      else merged.set(t.brandId, t);
    }
    const wanted = [...merged.values()].sort((x, y) => (x.brandId < y.brandId ? -1 : 1));
    if (wanted.length === 0) return out;
    // In SET, `segments` is the row's value before this UPDATE: last_grant is exactly what this
    // statement added, under the row lock (a concurrent take waits and sees the new total). Rows
    // are taken in brand order, so two instances taking the same brands never deadlock; one
    // statement per batch (it was one per sender, each a commit queued on the brand's row lock:
    // bench:limits' batches waited tens of ms for them while their slots passed).
    const r = await this.db.query<{ brand_id: string; last_grant: number }>(
      `WITH x AS (SELECT * FROM unnest($2::uuid[], $3::int[], $4::int[]) WITH ORDINALITY AS x(brand_id, want, cap, i))
       INSERT INTO brand_daily_usage AS u (brand_id, day, segments, last_grant)
       SELECT brand_id, $1::date, LEAST(want, cap), LEAST(want, cap) FROM x ORDER BY i
       ON CONFLICT (brand_id, day) DO UPDATE
          SET segments = GREATEST(u.segments, LEAST((SELECT cap FROM x WHERE x.brand_id = u.brand_id),
                                                    u.segments + (SELECT want FROM x WHERE x.brand_id = u.brand_id))),
              last_grant = GREATEST(0, LEAST((SELECT cap FROM x WHERE x.brand_id = u.brand_id),
                                             u.segments + (SELECT want FROM x WHERE x.brand_id = u.brand_id)) - u.segments)
       RETURNING brand_id, last_grant`,
      [day, wanted.map((t) => t.brandId), wanted.map((t) => t.want), wanted.map((t) => t.cap)],
      'parley_brand_daily_take',
    );
    for (const row of r.rows) out.set(row.brand_id, row.last_grant);
    return out;
  }

  async returnDaily(day: string, takes: ReadonlyArray<DailyReturn>): Promise<void> {
    const back = takes.filter((t) => t.want > 0).sort((x, y) => (x.brandId < y.brandId ? -1 : 1));
    if (back.length === 0) return;
    // Rows locked in brand order, as the take locks them: a give-back and a take never deadlock.
    await this.db.query(
      `WITH x AS (SELECT brand_id, sum(n)::int AS n FROM unnest($2::uuid[], $3::int[]) AS x(brand_id, n)
                  GROUP BY brand_id),
            locked AS (
              SELECT u.brand_id, x.n FROM brand_daily_usage u JOIN x ON u.brand_id = x.brand_id
               WHERE u.day = $1::date
               ORDER BY u.brand_id FOR UPDATE OF u)
       UPDATE brand_daily_usage u SET segments = GREATEST(0, u.segments - locked.n)
         FROM locked WHERE u.brand_id = locked.brand_id AND u.day = $1::date`,
      [day, back.map((t) => t.brandId), back.map((t) => t.want)],
      'parley_brand_daily_return',
    );
  }

  async setBacklog(entries: ReadonlyArray<{ e164: string; until: Date }>): Promise<void> {
    if (entries.length === 0) return;
    // Every instance writes its senders' backlog: rows are locked in one order, and a row another
    // instance is writing is skipped (advisory: the next move writes it). A plain multi-row UPDATE
    // locks in whatever order the plan visits, and two instances deadlocked — each one a second's
    // stall of dispatch (deadlock_timeout) and a deferred batch.
    await this.db.query(
      `WITH x AS (SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS x(e164, until)),
            locked AS (
              SELECT n.id, x.until FROM numbers n JOIN x ON n.e164 = x.e164
               WHERE n.backlog_until IS DISTINCT FROM x.until
               ORDER BY n.id FOR UPDATE OF n SKIP LOCKED)
       UPDATE numbers n SET backlog_until = locked.until FROM locked WHERE n.id = locked.id`,
      [entries.map((e) => e.e164), entries.map((e) => e.until)],
      'parley_sender_backlog',
    );
  }

  async sendersOf(messageIds: readonly string[]): Promise<Map<string, string>> {
    if (messageIds.length === 0) return new Map();
    const r = await this.db.query<{ id: string; from_e164: string }>(
      'SELECT id, from_e164 FROM messages WHERE id = ANY($1::uuid[])',
      [messageIds],
    );
    return new Map(r.rows.map((x) => [x.id, x.from_e164]));
  }

  async countOverLimit(day: string, perCampaign: ReadonlyMap<string, number>): Promise<void> {
    if (perCampaign.size === 0) return;
    await this.db.query(
      `INSERT INTO campaign_over_limit AS o (campaign_id, day, errors)
       SELECT id, $3::date, n FROM unnest($1::uuid[], $2::int[]) AS x(id, n)
       ON CONFLICT (campaign_id, day) DO UPDATE SET errors = o.errors + excluded.errors`,
      [[...perCampaign.keys()], [...perCampaign.values()], day],
    );
  }
}
