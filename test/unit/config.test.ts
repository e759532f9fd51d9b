import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { ConfigError } from '../../src/errors/app-error.ts';

describe('configuration', () => {
  it('builds defaults from an empty environment (embedded mode)', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      databaseUrl: undefined,
      redisUrl: undefined,
      dataDir: './data',
      simulator: { port: 2775 },
      httpRequestTimeoutMs: 30_000,
      dbStatementTimeoutMs: 15_000,
      dbConnectTimeoutMs: 5_000,
      authCacheMs: 1_000,
      webhookAllowNetworks: [],
    });
  });
  it('names the bad field', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/env\.PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'nope' })).toThrow(/env\.DATABASE_URL/);
    expect(() => loadConfig({ PARLEY_CONFIG: '/nonexistent.yaml' })).toThrow(/cannot read PARLEY_CONFIG/);
    expect(() => loadConfig({ PARLEY_AUTH_CACHE_MS: '30000' })).toThrow(/PARLEY_AUTH_CACHE_MS: revoked keys/);
    expect(() => loadConfig({ PARLEY_WEBHOOK_ALLOW_NETWORKS: '10.0.0.0/8,nope' })).toThrow(
      /"nope" is not an IP/,
    );
    expect(() => loadConfig({ PARLEY_DB_STATEMENT_TIMEOUT_MS: '0' })).toThrow(
      /PARLEY_DB_STATEMENT_TIMEOUT_MS/,
    );
  });
  it('reads the quiet-hours default and the account zone, refusing unknown values', () => {
    expect(loadConfig({})).toMatchObject({ quietHoursDefault: true, timeZone: 'America/New_York' });
    expect(loadConfig({ PARLEY_QUIET_HOURS_DEFAULT: 'off', PARLEY_TIME_ZONE: 'Europe/Paris' })).toMatchObject(
      {
        quietHoursDefault: false,
        timeZone: 'Europe/Paris',
      },
    );
    expect(() => loadConfig({ PARLEY_QUIET_HOURS_DEFAULT: 'maybe' })).toThrow(/PARLEY_QUIET_HOURS_DEFAULT/);
    expect(() => loadConfig({ PARLEY_TIME_ZONE: 'Mars/Base' })).toThrow(/PARLEY_TIME_ZONE/);
  });

  it('takes an instance id that cannot be confused with the leases of another', () => {
    expect(loadConfig({ PARLEY_INSTANCE_ID: 'gw-1.eu:a' }).instanceId).toBe('gw-1.eu:a');
    expect(() => loadConfig({ PARLEY_INSTANCE_ID: 'gw#1' })).toThrow(/env\.PARLEY_INSTANCE_ID/);
    expect(() => loadConfig({ PARLEY_INSTANCE_ID: 'a b' })).toThrow(ConfigError);
  });

  it('reads timeouts and the callback allowlist', () => {
    const c = loadConfig({
      PARLEY_HTTP_REQUEST_TIMEOUT_MS: '5000',
      PARLEY_DB_CONNECT_TIMEOUT_MS: '700',
      PARLEY_WEBHOOK_ALLOW_NETWORKS: '127.0.0.1/32, 10.1.2.3',
      PARLEY_RECEIPT_TIMEOUT_MS: '60000',
    });
    expect(c).toMatchObject({
      httpRequestTimeoutMs: 5000,
      dbConnectTimeoutMs: 700,
      receiptTimeoutMs: 60_000,
      webhookAllowNetworks: ['127.0.0.1/32', '10.1.2.3'],
    });
  });
  it('reads carriers and routes from YAML and rejects unknown route carriers', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-cfg-'));
    const good = path.join(dir, 'ok.yaml');
    fs.writeFileSync(
      good,
      'carriers:\n  - id: a\n    host: 127.0.0.1\n    port: 2775\n    systemId: x\n    password: y\n    messageIdFormat: { submit: base36, receipt: decimal }\n    defaultRegion: GB\nroutes:\n  - numberTypes: [toll_free]\n    carriers: [a]\n',
    );
    const c = loadConfig({ PARLEY_CONFIG: good });
    expect(c.carriers[0]).toMatchObject({
      id: 'a',
      windowSize: 10,
      interfaceVersion: 0x34,
      binds: [{ mode: 'trx', count: 1 }],
      messageIdFormat: { submit: 'base36', receipt: 'decimal' },
      defaultRegion: 'GB',
      maxPendingInbound: 1000,
    });
    expect(c.simulator).toBeUndefined();
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(
      bad,
      'carriers:\n  - id: a\n    host: h\n    port: 99999\n    systemId: x\n    password: y\n',
    );
    expect(() => loadConfig({ PARLEY_CONFIG: bad })).toThrow(/config\.carriers\.0\.port/);
    const fmt = path.join(dir, 'fmt.json');
    fs.writeFileSync(
      fmt,
      JSON.stringify({
        carriers: [
          { id: 'a', host: 'h', port: 1, systemId: 'x', password: 'y', messageIdFormat: { submit: 'octal' } },
        ],
      }),
    );
    expect(() => loadConfig({ PARLEY_CONFIG: fmt })).toThrow(/messageIdFormat\.submit/);
    const route = path.join(dir, 'route.json');
    fs.writeFileSync(
      route,
      JSON.stringify({
        carriers: [{ id: 'a', host: 'h', port: 1, systemId: 'x', password: 'y' }],
        routes: [{ carriers: ['b'] }],
      }),
    );
    expect(() => loadConfig({ PARLEY_CONFIG: route })).toThrow(/routes\.0\.carriers: unknown carrier "b"/);
  });
});
