import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type Child, runTs } from './processes.ts';
import { databaseUrl } from './services.ts';

export const CHILD_ADMIN = 'child-test-admin-token-0123';

/**
 * A database of its own for a test (or bench run) that runs the gateway as a separate process;
 * created on `base` (the test server by default), named from `tag`.
 */
export async function freshDatabase(
  tag: string,
  base?: string,
): Promise<{ name: string; url: string; client: () => Promise<pg.Client>; drop: () => Promise<void> }> {
  const server = base ?? (await databaseUrl());
  const name = `parley_${tag}_${process.pid}_${Date.now() % 100000}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(server);
  u.pathname = `/${name}`;
  const clients: pg.Client[] = [];
  return {
    name,
    url: u.toString(),
    /** A connected client of this database, ended before the database is dropped. */
    client: async () => {
      const c = new pg.Client({ connectionString: u.toString() });
      // Dropping the database (WITH FORCE) ends this connection: not an error of the test.
      c.on('error', () => undefined);
      await c.connect();
      clients.push(c);
      return c;
    },
    drop: async () => {
      await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface SimProcess {
  child: Child;
  smscPort: number;
  control: string;
}

/** The bundled simulator as its own process, with a scenario (object, written to a file). */
export async function startSimProcess(
  scenario: Record<string, unknown> = { extends: 'default' },
  seed = 5,
): Promise<SimProcess> {
  const file = path.join(
    os.tmpdir(),
    `parley-sim-${process.pid}-${Math.random().toString(36).slice(2)}.json`,
  );
  writeFileSync(file, JSON.stringify(scenario));
  const child = runTs(
    'simulator/main.ts',
    [
      '--port',
      '0',
      '--control-port',
      '0',
      '--system-id',
      'parley',
      '--password',
      'parley',
      '--seed',
      String(seed),
      '--scenario',
      file,
    ],
    {},
  );
  const ready = await child.waitLine((o) => o.msg === 'simulator ready', 20_000);
  return { child, smscPort: Number(String(ready.smpp).split(':')[1]), control: String(ready.control) };
}

export interface GatewayProcess {
  child: Child;
  url: string;
  post(p: string, body: unknown, key: string): Promise<{ status: number; json: Record<string, any> }>;
  get(p: string, key?: string): Promise<{ status: number; json: any; text: string }>;
  /** A gauge or counter summed over its label sets (matching `label` when given). */
  metric(name: string, label?: string): Promise<number>;
}

/** The gateway as its own process (src/main.ts under tsx) on `dbUrl`, with the simulator as its carrier. */
export async function startGatewayProcess(
  dbUrl: string,
  smscPort: number,
  env: Record<string, string> = {},
  carrier: Record<string, unknown> = {},
  nodeArgs: string[] = [],
): Promise<GatewayProcess> {
  const configFile = path.join(
    os.tmpdir(),
    `parley-child-${process.pid}-${Math.random().toString(36).slice(2)}.json`,
  );
  writeFileSync(
    configFile,
    JSON.stringify({
      carriers: [
        {
          id: 'sim',
          host: '127.0.0.1',
          port: smscPort,
          systemId: 'parley',
          password: 'parley',
          windowSize: 20,
          ...carrier,
        },
      ],
    }),
  );
  const child = runTs(
    'src/main.ts',
    [],
    {
      DATABASE_URL: dbUrl,
      PARLEY_CONFIG: configFile,
      PARLEY_ADMIN_TOKEN: CHILD_ADMIN,
      PARLEY_QUIET_HOURS_DEFAULT: 'off',
      PARLEY_FOOTER_DEFAULT: 'off',
      // Numbers are unregistered in tests: the registration gate only where a test asks for it.
      PARLEY_REGISTRATION_GATE: 'off',
      PARLEY_RATE_LIMITS: 'off',
      PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    nodeArgs,
  );
  const l = await child.waitLine((o) => o.msg === 'parley listening', 30_000);
  const url = String(l.address);
  const post = async (p: string, body: unknown, key: string) => {
    const r = await fetch(`${url}${p}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, json: (await r.json()) as Record<string, any> };
  };
  const get = async (p: string, key?: string) => {
    const r = await fetch(`${url}${p}`, key ? { headers: { authorization: `Bearer ${key}` } } : {});
    const text = await r.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: r.status, json, text };
  };
  const metric = async (name: string, label = '') => {
    const text = (await get('/metrics')).text;
    let sum = 0;
    for (const line of text.split('\n'))
      if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(label))
        sum += Number(line.split(' ').pop());
    return sum;
  };
  return { child, url, post, get, metric };
}

/** An account with a number, through the admin API of a gateway process. */
export async function childAccount(
  gw: GatewayProcess,
  number: string,
): Promise<{ id: string; apiKey: string }> {
  const a = await gw.post('/v1/admin/accounts', { name: 'child' }, CHILD_ADMIN);
  await gw.post('/v1/admin/numbers', { accountId: a.json.id, number, type: 'local' }, CHILD_ADMIN);
  return { id: a.json.id, apiKey: a.json.apiKey };
}

/** Waits until at least `n` ESMEs are bound to the simulator (a restarted gateway binds after it listens). */
export async function waitSimBound(sim: SimProcess, n = 1, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const stats = (await (await fetch(`${sim.control}/stats`)).json()) as { bound: number };
    if (stats.bound >= n) return;
    if (Date.now() > until) throw new Error(`simulator: fewer than ${n} binds after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** POSTs to the simulator's control API. */
export async function simControl(sim: SimProcess, p: string, body: unknown): Promise<Record<string, any>> {
  const r = await fetch(`${sim.control}${p}`, { method: 'POST', body: JSON.stringify(body) });
  const json = (await r.json()) as Record<string, any>;
  if (!r.ok) throw new Error(`simulator ${p}: ${JSON.stringify(json)}`);
  return json;
}
