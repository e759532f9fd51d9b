import type { BacklogSnapshot, BacklogSource } from '../metrics/backlog-gauges.ts';
import type { Db } from './db.ts';

/** The backlog gauges' queries, each through a partial index, bounded by a statement timeout. */
export class BacklogRepo implements BacklogSource {
  constructor(
    private readonly db: Db,
    private readonly timeoutMs = 2_000,
  ) {}

  async snapshot(): Promise<BacklogSnapshot> {
    return this.db.tx(async (q) => {
      // PGlite runs in this process and has no statement timeout to set.
      if (this.db.kind === 'postgres')
        await q.query(`SET LOCAL statement_timeout = ${Math.floor(this.timeoutMs)}`);
      const queues = await q.query<{
        number_type: string;
        due: string;
        later: string;
        oldest: number | null;
      }>(
        `SELECT number_type, count(*) FILTER (WHERE next_attempt_at <= now()) AS due,
                count(*) FILTER (WHERE next_attempt_at > now()) AS later,
                extract(epoch FROM now() - min(next_attempt_at) FILTER (WHERE next_attempt_at <= now()))::float8 AS oldest
         FROM segments WHERE status IN ('queued', 'scheduled') GROUP BY number_type`,
        [],
        'parley_backlog_queues',
      );
      const rest = await q.query<{ parked: string; pending: string; oldest: number | null }>(
        `SELECT (SELECT count(*) FROM parked_receipts WHERE unmatched_at IS NULL) AS parked,
                w.pending, w.oldest
         FROM (SELECT count(*) AS pending, extract(epoch FROM now() - min(created_at))::float8 AS oldest
               FROM webhook_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL) w`,
        [],
        'parley_backlog_rest',
      );
      const r = rest.rows[0]!;
      return {
        queues: queues.rows.map((x) => ({
          numberType: x.number_type,
          due: Number(x.due),
          later: Number(x.later),
          oldestDueSeconds: Math.max(0, x.oldest ?? 0),
        })),
        parkedReceipts: Number(r.parked),
        webhooksPending: Number(r.pending),
        webhookOldestSeconds: Math.max(0, r.oldest ?? 0),
      };
    });
  }
}
