import { FAILURE_STATUSES, failureClassSql } from '../messaging/vocabulary.ts';
import type { NumberStatsStore, StatDeltaInput, StatRow } from '../metrics/number-metrics.ts';
import type { Db, Queryable } from './db.ts';

const FAILED_SQL = [...FAILURE_STATUSES].map((x) => `'${x}'`).join(', ');

/**
 * A CTE for the status writes (dispatch-sql.ts): the rollup deltas of the changes in `u`, in the
 * same statement, so the figures commit with the statuses (never counted twice, never lost).
 * sent = the SMSC took it (sent_at is set then and only then), failed by class, segments sent.
 */
export const STAT_DELTAS_SQL = `st AS (
  INSERT INTO number_stat_deltas (account_id, from_e164, bucket, metric, n)
  SELECT account_id, from_e164, date_trunc('hour', now(), 'UTC'), metric, sum(n)
  FROM (
    SELECT account_id, from_e164,
           CASE WHEN status IN ('sent', 'delivered') THEN status ELSE 'failed:' || ${failureClassSql('reason')} END AS metric,
           1 AS n
    FROM u WHERE status IN ('sent', 'delivered', ${FAILED_SQL})
    UNION ALL
    SELECT account_id, from_e164, 'segments', segments FROM u WHERE status = 'sent'
  ) x
  GROUP BY account_id, from_e164, metric
)`;

export type StatDelta = StatDeltaInput;

/** Adds rollup deltas in the caller's transaction (clicks, accept refusals). */
export async function addStatDeltas(q: Queryable, rows: readonly StatDelta[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `INSERT INTO number_stat_deltas (account_id, from_e164, bucket, metric, n)
     SELECT account_id, from_e164, date_trunc('hour', at, 'UTC'), metric, sum(n)
     FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::bigint[]) AS x(account_id, from_e164, at, metric, n)
     GROUP BY 1, 2, 3, 4`,
    [
      rows.map((r) => r.accountId),
      rows.map((r) => r.from),
      rows.map((r) => r.at.toISOString()),
      rows.map((r) => r.metric),
      rows.map((r) => r.n),
    ],
    'parley_stat_deltas',
  );
}

/** Key of the advisory lock that lets one instance at a time fold deltas. */
const FOLD_LOCK = 0x70617273; // "pars"

/** Per-number hourly rollups: folded from the deltas, read together with those not folded yet. */
export class NumberStatsRepo implements NumberStatsStore {
  constructor(private readonly db: Db) {}

  async add(rows: readonly StatDelta[]): Promise<void> {
    await addStatDeltas(this.db, rows);
  }

  /**
   * Folds up to `limit` deltas into the rollups (one instance at a time; the others skip).
   * Returns how many deltas were folded.
   */
  async fold(limit = 50_000): Promise<number> {
    return this.db.tx(async (q) => {
      const got = await q.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [FOLD_LOCK]);
      if (!got.rows[0]?.ok) return 0;
      const r = await q.query<{ n: string }>(
        `WITH d AS (
           DELETE FROM number_stat_deltas
           WHERE ctid = ANY (ARRAY(SELECT ctid FROM number_stat_deltas LIMIT $1))
           RETURNING account_id, from_e164, bucket, metric, n
         ), ins AS (
           INSERT INTO number_stats (account_id, from_e164, bucket, metric, n)
           SELECT account_id, from_e164, bucket, metric, sum(n) FROM d
           GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
           ON CONFLICT (account_id, from_e164, bucket, metric) DO UPDATE SET n = number_stats.n + excluded.n
         )
         SELECT count(*) AS n FROM d`,
        [limit],
        'parley_stats_fold',
      );
      return Number(r.rows[0]?.n ?? 0);
    });
  }

  async vacuum(): Promise<void> {
    await this.db.query('VACUUM number_stat_deltas');
  }

  async rows(q: {
    accountId: string;
    numbers: readonly string[] | undefined;
    from: Date;
    to: Date;
  }): Promise<StatRow[]> {
    const all = q.numbers === undefined;
    const r = await this.db.query<{ from_e164: string; bucket: Date; metric: string; n: string }>(
      `SELECT from_e164, bucket, metric, sum(n)::bigint AS n FROM (
         SELECT from_e164, bucket, metric, n FROM number_stats
         WHERE account_id = $1 AND ($2 OR from_e164 = ANY($3::text[])) AND bucket >= $4 AND bucket < $5
         UNION ALL
         SELECT from_e164, bucket, metric, n FROM number_stat_deltas
         WHERE account_id = $1 AND ($2 OR from_e164 = ANY($3::text[])) AND bucket >= $4 AND bucket < $5
       ) x GROUP BY 1, 2, 3`,
      [q.accountId, all, q.numbers ?? [], q.from.toISOString(), q.to.toISOString()],
      'parley_stats_read',
    );
    return r.rows.map((x) => ({ number: x.from_e164, bucket: x.bucket, metric: x.metric, n: Number(x.n) }));
  }
}
