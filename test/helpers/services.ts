import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * PostgreSQL and Redis for tests: DATABASE_URL / REDIS_URL when set, else containers when a Docker
 * engine is reachable, else a clear failure saying what to set.
 */
let pgContainer: Promise<string> | undefined;
let redisContainer: Promise<string> | undefined;

function dockerAvailable(): boolean {
  return existsSync('/var/run/docker.sock') || Boolean(process.env.DOCKER_HOST);
}

export async function databaseUrl(): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  if (!dockerAvailable()) {
    throw new Error(
      'these tests need PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test (or run a Docker engine for testcontainers)',
    );
  }
  pgContainer ??= import('@testcontainers/postgresql').then(async ({ PostgreSqlContainer }) =>
    (await new PostgreSqlContainer('postgres:16').start()).getConnectionUri(),
  );
  return pgContainer;
}

export async function redisUrl(): Promise<string> {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  if (!dockerAvailable()) {
    throw new Error(
      'these tests need Redis: set REDIS_URL=redis://127.0.0.1:6379 (or run a Docker engine for testcontainers)',
    );
  }
  redisContainer ??= import('@testcontainers/redis').then(async ({ RedisContainer }) =>
    (await new RedisContainer('redis:7').start()).getConnectionUrl(),
  );
  return redisContainer;
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
