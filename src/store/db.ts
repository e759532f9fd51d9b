import { mkdirSync } from 'node:fs';
import pg from 'pg';
import { databaseUnavailable } from './db-errors.ts';
import { prepareArrayParams } from './pg-array.ts';

/** What repositories need from a database: parameterised queries and transactions. */
export interface Queryable {
  /**
   * Runs one statement. `name` makes it a prepared statement on PostgreSQL, parsed and planned
   * once per connection (a generic plan, see PLANNER_SETTINGS): only for statements whose plan
   * follows from their form, which the plan tests check for every name.
   */
  query<T = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    name?: string,
  ): Promise<{ rows: T[]; rowCount: number }>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction; rolls back and rethrows on error. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` on one connection, outside a transaction: each statement commits on its own. For a
   * statement whose parameters must be built once a connection is in hand (a delay counted from
   * when it is sent, not from before the wait for the pool). Rethrows `fn`'s error.
   */
  session<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Runs a multi-statement script without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Opens every connection the pool may use and loads each one's catalog caches for the
   * schema's tables, so that neither happens in the middle of traffic; answers how many were
   * opened (fewer when the server refuses more). Call after migrating. Fails (DATABASE_UNAVAILABLE)
   * when not even one connection can be opened.
   */
  warm(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Planner settings of every gateway session. The hot statements join a batch from unnest() to
 * tables of millions of rows; the only plan whose cost stays flat as tables grow is a nested loop
 * driven by the batch, probing keys. Statistics are often stale (autovacuum may be off, tables
 * fill between ANALYZEs), so a wrong row estimate must not be able to pick anything else: hash and
 * merge joins, bitmap scans and sequential scans are disabled (the latter two only lose against an
 * index path, which every gateway query has), and JIT compilation (triggered by large mis-estimated
 * costs) is off.
 *
 * A statement the store names (a prepared statement: the per-batch ones) is planned once per
 * connection without its parameters' values, and that generic plan is kept, even when it was made
 * on empty tables that have since grown: planning every execution was more than half of
 * PostgreSQL's CPU at 2,000 messages/s. So a named statement's plan must follow from its form
 * alone (the batch drives, LATERAL … OFFSET 0 probes, partial-index predicates as literals), and
 * test/e2e/plan-stability.test.ts runs every named statement on its generic plan, made on a small,
 * a stale, a never-analyzed and an empty database. A statement sent without a name is planned
 * with its values at each execution.
 */
export const PLANNER_SETTINGS: Readonly<Record<string, string>> = {
  enable_hashjoin: 'off',
  enable_mergejoin: 'off',
  enable_bitmapscan: 'off',
  enable_seqscan: 'off',
  jit: 'off',
  plan_cache_mode: 'force_generic_plan',
};

export interface DbOptions {
  /** postgres:// URL; when absent an embedded PGlite database lives in `dataDir`. */
  url: string | undefined;
  dataDir: string;
  /** Schema to work in (tests give each file its own). */
  schema?: string | undefined;
  poolSize?: number;
  /** Give up connecting after this long (a hung or unreachable server). */
  connectTimeoutMs?: number;
  /** Server- and client-side bound on any one statement. */
  statementTimeoutMs?: number;
  /** Called for errors of idle connections (they surface on the next query anyway). */
  onIdleError?: (err: Error) => void;
}

// Plans a statement naming every table of the schema: the backend opens each table and its
// indexes and caches them (a new backend's first statements on the hot tables took 12-40 ms).
const WARM_SQL = `SELECT coalesce(string_agg(format('SELECT 1 FROM %I.%I WHERE false', schemaname, tablename), ' UNION ALL '), 'SELECT 1')
  FROM pg_tables WHERE schemaname = current_schema()`;

class PgDb implements Db {
  readonly kind = 'postgres' as const;
  constructor(
    private readonly pool: pg.Pool,
    private readonly size: number,
  ) {}

  async query<T>(sql: string, params?: unknown[], name?: string) {
    const values = prepareArrayParams(params) as unknown[];
    const r = await this.pool.query(name ? { name, text: sql, values } : { text: sql, values });
    return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
  }

  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.checkedOut(fn, true);
  }

  session<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.checkedOut(fn, false);
  }

  private async checkedOut<T>(fn: (q: Queryable) => Promise<T>, transaction: boolean): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client whose server goes away (failover, pg_terminate_backend, fast shutdown)
    // emits 'error'; without a listener that is an uncaught exception. The pending query rejects
    // as well, so the listener only has to exist.
    let lost: Error | undefined;
    const onError = (err: Error) => {
      lost = err;
    };
    client.on('error', onError);
    let failure: unknown;
    try {
      if (transaction) await client.query('BEGIN');
      const q: Queryable = {
        query: async <R>(sql: string, params?: unknown[], name?: string) => {
          const values = prepareArrayParams(params) as unknown[];
          const r = await client.query(name ? { name, text: sql, values } : { text: sql, values });
          return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
        },
      };
      const out = await fn(q);
      if (transaction) await client.query('COMMIT');
      return out;
    } catch (err) {
      failure = err;
      if (transaction && !lost) await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', onError);
      // A client that failed is destroyed rather than reused: after a timeout or a lost
      // connection its protocol state is unknown.
      client.release(failure === undefined ? undefined : (lost ?? (failure as Error)));
    }
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async warm(): Promise<number> {
    const clients: pg.PoolClient[] = [];
    try {
      for (let i = 0; i < this.size; i++) {
        try {
          clients.push(await this.pool.connect());
        } catch (err) {
          // The server may give fewer connections than the pool's size (max_connections, a
          // connection limit per role): those are opened under load, as before. None at all is
          // an unavailable database.
          if (clients.length === 0) throw err;
          break;
        }
      }
      const r = await clients[0]!.query<{ coalesce: string }>(WARM_SQL);
      const sql = r.rows[0]?.coalesce ?? 'SELECT 1';
      await Promise.all(clients.map((c) => c.query(sql)));
      return clients.length;
    } catch (err) {
      throw databaseUnavailable(err);
    } finally {
      for (const c of clients) c.release();
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

type PGliteType = import('@electric-sql/pglite').PGlite;

class PgliteDb implements Db {
  readonly kind = 'pglite' as const;
  constructor(private readonly db: PGliteType) {}

  /**
   * node-postgres' rowCount: rows returned by a statement that returns rows (a SELECT, RETURNING),
   * rows changed by one that does not. PGlite reports affectedRows 0 for a SELECT, so checks like
   * "does a row exist" read false on the embedded database without this.
   */
  private static wrap<T>(r: { rows: unknown[]; affectedRows?: number; fields?: unknown[] }) {
    return { rows: r.rows as T[], rowCount: r.fields?.length ? r.rows.length : (r.affectedRows ?? 0) };
  }

  async query<T>(sql: string, params?: unknown[]) {
    return PgliteDb.wrap<T>(await this.db.query(sql, params));
  }

  /** The one in-process connection: nothing to wait for, so `fn` runs on the database itself. */
  session<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return fn({ query: <R>(sql: string, params?: unknown[]) => this.query<R>(sql, params) });
  }

  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(async (t) =>
      fn({
        query: async <R>(sql: string, params?: unknown[]) => PgliteDb.wrap<R>(await t.query(sql, params)),
      }),
    );
  }

  /** One in-process connection, opened already. */
  async warm(): Promise<number> {
    return 1;
  }

  async exec(sql: string): Promise<void> {
    await this.db.exec(sql);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

function quoteSetting(v: string): string {
  return /^[a-z0-9_.,]+$/i.test(v) ? v : `'${v.replace(/'/g, "''")}'`;
}

/**
 * Opens PostgreSQL (a pool with connect, statement and idle-transaction timeouts) or embedded
 * PGlite. Fails with DATABASE_UNAVAILABLE when the server cannot be reached.
 */
export async function openDb(opts: DbOptions): Promise<Db> {
  const stmtMs = opts.statementTimeoutMs ?? 15_000;
  const settings: Record<string, string> = {
    ...PLANNER_SETTINGS,
    statement_timeout: String(stmtMs),
    idle_in_transaction_session_timeout: String(Math.max(stmtMs * 2, 10_000)),
  };
  if (opts.schema) settings.search_path = `${opts.schema},public`;
  if (opts.url) {
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      // Connections are kept once opened: a connection closed while idle and reopened under
      // the next burst cost a fork and cold caches in the middle of traffic (clusters of 50-70 ms
      // accept latency at 2,000 requests/s).
      min: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
      // The client-side bound also covers a server that stopped answering altogether.
      query_timeout: stmtMs + 1_000,
      keepAlive: true,
      idleTimeoutMillis: 30_000,
      application_name: 'parley',
      options: Object.entries(settings)
        .map(([k, v]) => `-c ${k}=${v}`)
        .join(' '),
    });
    pool.on('error', (err) => opts.onIdleError?.(err));
    try {
      if (opts.schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`);
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw databaseUnavailable(err);
    }
    return new PgDb(pool, opts.poolSize ?? 10);
  }
  const { PGlite } = await import('@electric-sql/pglite');
  mkdirSync(opts.dataDir, { recursive: true });
  const db = await PGlite.create(`${opts.dataDir}/pglite`);
  const { statement_timeout: _s, idle_in_transaction_session_timeout: _i, ...local } = settings;
  await db.exec(
    Object.entries(local)
      .map(([k, v]) => `SET ${k} = ${quoteSetting(v)};`)
      .join('\n'),
  );
  return new PgliteDb(db);
}

export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === '23505';
}
