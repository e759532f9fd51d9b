import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

/** A raw HTTP request: the path goes on the wire exactly as written (no client-side normalisation). */
function raw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => {
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Every way of spelling `path` that a router or proxy might decode, fold or normalise. */
function variants(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  const out = new Set<string>([path, `${path}/`, `/${parts.join('//')}`, path.toUpperCase()]);
  // Percent-encode each letter in turn, once and twice.
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (!/[a-z0-9]/i.test(c)) continue;
    const hex = c.charCodeAt(0).toString(16);
    out.add(`${path.slice(0, i)}%${hex}${path.slice(i + 1)}`);
    out.add(`${path.slice(0, i)}%${hex.toUpperCase()}${path.slice(i + 1)}`);
    out.add(`${path.slice(0, i)}%25${hex}${path.slice(i + 1)}`);
  }
  // Dot segments and encoded slashes.
  out.add(`/${parts[0]}/x/../${parts.slice(1).join('/')}`);
  out.add(`/${parts[0]}/./${parts.slice(1).join('/')}`);
  out.add(`/${parts[0]}/%2e%2e/${parts.join('/')}`);
  out.add(`/${parts.join('%2f')}`);
  out.add(`/${parts.join('%2F')}`);
  out.add(`/.${path}`);
  out.add(`${path};x=1`);
  out.add(`${path}?x=1`);
  out.add(`${path}#frag`);
  return [...out];
}

const ADMIN_ROUTES: Array<[string, string, unknown]> = [
  ['POST', '/v1/admin/accounts', { name: 'evil' }],
  [
    'POST',
    '/v1/admin/numbers',
    { accountId: '00000000-0000-4000-8000-000000000000', number: '+15550100099', type: 'local' },
  ],
  ['GET', '/v1/admin/receipts/unmatched', undefined],
  ['GET', '/v1/admin/pdus/rejected', undefined],
  ['DELETE', '/v1/admin/api-keys/00000000-0000-4000-8000-000000000000', undefined],
  ['GET', '/v1/admin/accounts/00000000-0000-4000-8000-000000000000/api-keys', undefined],
];
const ACCOUNT_ROUTES: Array<[string, string, unknown]> = [
  ['POST', '/v1/messages', { to: '+14155550123', body: 'x' }],
  ['POST', '/v1/messages/batch', { messages: [{ to: '+14155550123', body: 'x' }] }],
  ['GET', '/v1/messages', undefined],
  ['GET', '/v1/numbers', undefined],
  ['GET', '/v1/api-keys', undefined],
];

describe('authentication is decided per route, deny by default', () => {
  let t: TestGateway;
  let noAdmin: TestGateway;
  let port = 0;
  let noAdminPort = 0;
  beforeAll(async () => {
    t = await startTestGateway({ file: import.meta.filename });
    noAdmin = await startTestGateway({
      file: `${import.meta.filename}-noadmin`,
      env: { PARLEY_ADMIN_TOKEN: '' },
    });
    await t.gw.http.listen({ port: 0, host: '127.0.0.1' });
    await noAdmin.gw.http.listen({ port: 0, host: '127.0.0.1' });
    port = (t.gw.http.server.address() as AddressInfo).port;
    noAdminPort = (noAdmin.gw.http.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await t?.stop();
    await noAdmin?.stop();
  });

  // Regression (issue 6): POST /v1/%61dmin/accounts (and /%76%31/admin/accounts, /v1/adm%69n/numbers)
  // with no Authorization returned 201 with a new account and API key, even without PARLEY_ADMIN_TOKEN.
  it('never reaches an admin route without the admin token, however the path is spelt', async () => {
    const before = await t.gw.accounts.countAccounts();
    let tried = 0;
    for (const [method, path, body] of ADMIN_ROUTES) {
      for (const p of variants(path)) {
        for (const auth of [
          {},
          { authorization: `Bearer ${t.account.apiKey}` },
          { authorization: 'Bearer wrong-token-xxxxxxxxxx' },
        ] as Array<Record<string, string>>) {
          const r = await raw(port, method, p, auth, body === undefined ? undefined : JSON.stringify(body));
          tried++;
          expect(
            [400, 401, 403, 404, 405, 414],
            `${method} ${p} ${JSON.stringify(auth)} → ${r.status}`,
          ).toContain(r.status);
          expect(r.json.error?.code, `${method} ${p}`).toBeTypeOf('string');
        }
        const rNo = await raw(
          noAdminPort,
          method,
          p,
          {},
          body === undefined ? undefined : JSON.stringify(body),
        );
        expect(rNo.status, `no token configured: ${method} ${p}`).toBeGreaterThanOrEqual(400);
      }
    }
    expect(tried).toBeGreaterThan(300);
    expect(await t.gw.accounts.countAccounts()).toBe(before);
  });

  it('the exact admin path works with the token, and says ADMIN_DISABLED when none is configured', async () => {
    const ok = await raw(
      port,
      'POST',
      '/v1/admin/accounts',
      { authorization: `Bearer ${ADMIN_TOKEN}` },
      '{"name":"ok"}',
    );
    expect(ok.status).toBe(201);
    const off = await raw(
      noAdminPort,
      'POST',
      '/v1/admin/accounts',
      { authorization: `Bearer ${ADMIN_TOKEN}` },
      '{"name":"x"}',
    );
    expect(off.status).toBe(403);
    expect(off.json.error.code).toBe('ADMIN_DISABLED');
  });

  it('never reaches an account route without a valid key, however the path is spelt', async () => {
    for (const [method, path, body] of ACCOUNT_ROUTES) {
      for (const p of variants(path)) {
        const auths: Array<Record<string, string>> = [
          {},
          { authorization: 'Bearer pk_not-a-key' },
          { authorization: `Bearer ${ADMIN_TOKEN}` },
          { authorization: `Basic ${t.account.apiKey}` },
        ];
        for (const auth of auths) {
          const r = await raw(port, method, p, auth, body === undefined ? undefined : JSON.stringify(body));
          expect([400, 401, 404, 405, 414], `${method} ${p} → ${r.status}`).toContain(r.status);
        }
      }
    }
  });

  it('refuses to build an API with a route that does not declare its authentication', async () => {
    const { default: Fastify } = await import('fastify');
    const { registerAuth } = await import('../../src/http/plugins/auth.ts');
    const app = Fastify();
    registerAuth(app as never, {
      adminToken: undefined,
      accountIdForKeyHash: async () => undefined,
      cacheMs: 0,
      bus: t.gw.bus,
    });
    app.get('/v1/declared', { config: { auth: 'public' } }, async () => ({ ok: true }));
    expect(() => app.get('/v1/forgotten', async () => ({ leak: true }))).toThrow(
      /does not declare config.auth/,
    );
    await app.close();
  });
});
