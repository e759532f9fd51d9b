import path from 'node:path';

/**
 * PostgreSQL and Redis for tests, as test/global-setup.ts left them in the environment: the
 * configured DATABASE_URL / REDIS_URL, or services it started for this run.
 */
export async function databaseUrl(): Promise<string> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set and test/global-setup.ts did not start PostgreSQL');
  return url;
}

/** Redis URL, or undefined when the run has none (the caller skips, saying what to install). */
export function redisUrlOrUndefined(): string | undefined {
  return process.env.REDIS_URL;
}

/** Why Redis tests cannot run here (one line naming what to install), or undefined. */
export function redisMissing(): string | undefined {
  return process.env.REDIS_URL ? undefined : (process.env.PARLEY_TEST_NO_REDIS ?? 'set REDIS_URL');
}

export async function redisUrl(): Promise<string> {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error(redisMissing());
  return url;
}

/** A schema name unique to this test file and run, so files never see each other's rows. */
export function uniqueSchema(file: string): string {
  const base = path
    .basename(file)
    .replace(/\.test\.ts$/, '')
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase();
  return `t_${base}_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
}

/**
 * Drops a schema a test made (files run against one shared database: left behind, each run's
 * schemas would pile up in it). Never throws: a teardown must not fail a test that passed.
 */
export async function dropSchema(schema: string): Promise<void> {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: await databaseUrl() });
  try {
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } catch {
    // left for the next machine
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Environment for a gateway a test builds itself: silent, any port, and the per-account rules
 * that depend on the hour or change bodies (quiet hours, first-message footer) off unless a test
 * turns them on.
 */
export async function testGatewayEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return {
    DATABASE_URL: await databaseUrl(),
    LOG_LEVEL: 'silent',
    PORT: '0',
    PARLEY_QUIET_HOURS_DEFAULT: 'off',
    PARLEY_FOOTER_DEFAULT: 'off',
    // Numbers are unregistered in tests: the registration gate only where a test asks for it.
    PARLEY_REGISTRATION_GATE: 'off',
    PARLEY_RATE_LIMITS: 'off',
    ...extra,
  };
}
