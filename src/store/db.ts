import { mkdirSync } from 'node:fs';
import pg from 'pg';
import { AppError } from '../errors/app-error.ts';

/** What repositories need from a database: parameterised queries and transactions. */
export interface Queryable {
  /**
   * Runs one statement. `name` makes it a prepared statement on PostgreSQL (parsed and planned once
   * per connection): used for the per-batch statements of the hot path.
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
  /** Runs a multi-statement script without parameters (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** Wraps driver failures as a retryable 503 so HTTP callers know to try again. */
function unavailable(err: unknown): AppError {
  return new AppError(
    'DATABASE_UNAVAILABLE',
    'the database did not accept the write; nothing was stored, try again',
    {
      httpStatus: 503,
      action: 'retry',
      cause: err,
    },
  );
}

export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === '23505';
}

class PgDb implements Db {
  readonly kind = 'postgres' as const;
  constructor(private readonly pool: pg.Pool) {}

  async query<T>(sql: string, params?: unknown[], name?: string) {
    const r = await this.pool.query(
      name ? { name, text: sql, values: params as unknown[] } : { text: sql, values: params as unknown[] },
    );
    return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const q: Queryable = {
        query: async <R>(sql: string, params?: unknown[], name?: string) => {
          const r = await client.query(
            name
              ? { name, text: sql, values: params as unknown[] }
              : { text: sql, values: params as unknown[] },
          );
          return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
        },
      };
      const out = await fn(q);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

type PGliteType = import('@electric-sql/pglite').PGlite;

class PgliteDb implements Db {
  readonly kind = 'pglite' as const;
  constructor(private readonly db: PGliteType) {}

  private static wrap<T>(r: { rows: unknown[]; affectedRows?: number }) {
    return { rows: r.rows as T[], rowCount: r.affectedRows ?? r.rows.length };
  }

  async query<T>(sql: string, params?: unknown[]) {
    return PgliteDb.wrap<T>(await this.db.query(sql, params));
  }

  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(async (t) =>
      fn({
        query: async <R>(sql: string, params?: unknown[]) => PgliteDb.wrap<R>(await t.query(sql, params)),
      }),
    );
  }

  async exec(sql: string): Promise<void> {
    await this.db.exec(sql);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

export interface DbOptions {
  /** postgres:// URL; when absent an embedded PGlite database lives in `dataDir`. */
  url: string | undefined;
  dataDir: string;
  /** Schema to work in (tests give each file its own). */
  schema?: string | undefined;
  poolSize?: number;
}

/**
 * Opens PostgreSQL (pool) or embedded PGlite. Fails with DATABASE_UNAVAILABLE when the server
 * cannot be reached; the caller (main) prints it and exits.
 */
export async function openDb(opts: DbOptions): Promise<Db> {
  if (opts.url) {
    // Every batch statement joins a few hundred keys from unnest() against tables of millions of
    // rows; the planner's row estimate for unnest() makes it hash whole tables. Probing primary
    // keys is what keeps the cost per message flat as tables grow, so hash and merge joins are off
    // for the gateway's sessions (its other queries are key lookups and index range scans).
    const settings = ['-c enable_hashjoin=off', '-c enable_mergejoin=off'];
    if (opts.schema) settings.push(`-c search_path=${opts.schema},public`);
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      options: settings.join(' '),
    });
    pool.on('error', () => undefined); // idle client errors surface on the next query instead
    try {
      if (opts.schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`);
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw unavailable(err);
    }
    return new PgDb(pool);
  }
  const { PGlite } = await import('@electric-sql/pglite');
  mkdirSync(opts.dataDir, { recursive: true });
  const db = await PGlite.create(`${opts.dataDir}/pglite`);
  return new PgliteDb(db);
}

export { unavailable as databaseUnavailable };
