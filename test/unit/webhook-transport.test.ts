import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkCallbackUrl,
  isAllowedAddress,
  WebhookTransport,
} from '../../src/messaging/webhook-transport.ts';
import { signWebhook } from '../../src/messaging/webhooks.ts';

const code = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

// Regression (issue 6): statusCallback was POSTed to loopback, [::1], 0.0.0.0, 2130706433, 0x7f.1,
// 127.0.0.1:5432, the gateway's own admin URL, and 169.254.169.254 was accepted.
const HOSTILE = [
  'http://127.0.0.1/x',
  'http://[::1]/x',
  'http://0.0.0.0/x',
  'http://2130706433/x',
  'http://0x7f.1/x',
  'http://127.0.0.1:5432/',
  'http://127.0.0.1:3000/v1/admin/accounts',
  'http://169.254.169.254/latest/meta-data/',
  'http://10.0.0.1/',
  'http://192.168.1.1/',
  'http://172.16.0.1/',
  'http://100.64.0.1/',
  'http://[::ffff:127.0.0.1]/',
  'http://[fe80::1]/',
  'http://[fc00::1]/',
  'http://224.0.0.1/',
  'http://255.255.255.255/',
  'http://localhost:3000/',
  'http://api.localhost/',
  'ftp://example.com/',
  'javascript:alert(1)',
  'file:///etc/passwd',
  'gopher://example.com/',
  'not a url',
];

describe('callback URLs at submission', () => {
  it('refuses non-http(s) and every loopback, private, link-local, reserved and metadata address', () => {
    for (const u of HOSTILE)
      expect(
        code(() => checkCallbackUrl(u, [])),
        u,
      ).toBe('INVALID_CALLBACK_URL');
  });
  it('accepts public hosts, names and IPs alike, with credentials', () => {
    for (const u of [
      'https://example.com/cb',
      'http://93.184.216.34:8080/x',
      'https://user:pw@hooks.example.org/a?b=c',
    ])
      expect(code(() => checkCallbackUrl(u, []))).toBe('ok');
  });
  it('lets an operator allowlist a private network', () => {
    expect(code(() => checkCallbackUrl('http://10.1.2.3/cb', ['10.0.0.0/8']))).toBe('ok');
    expect(code(() => checkCallbackUrl('http://10.1.2.3/cb', ['10.1.2.3']))).toBe('ok');
    expect(code(() => checkCallbackUrl('http://11.1.2.3/cb', ['10.0.0.0/8']))).toBe('ok');
    expect(isAllowedAddress('127.0.0.1', ['127.0.0.0/8'])).toBe(true);
    expect(isAllowedAddress('::ffff:127.0.0.1', [])).toBe(false);
  });
});

describe('callback delivery (the address connected to is checked)', () => {
  let server: http.Server;
  let port = 0;
  let hits = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits++;
      req.resume();
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('never connects to a refused address, whatever the URL spells (names that resolve to loopback included)', async () => {
    const t = new WebhookTransport([]);
    for (const host of ['127.0.0.1', 'localhost', '[::1]', '2130706433', '0x7f.1', 'a.localhost']) {
      const r = await t.post(`http://${host}:${port}/cb`, '{}', {}, 2_000);
      expect(r, host).toMatchObject({ ok: false, blocked: true });
    }
    expect(hits).toBe(0);
    t.close();
  });
  it('checks the resolved address on every connection (DNS rebinding: public first, loopback next)', async () => {
    let calls = 0;
    const lookup = ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => {
      calls++;
      // First answer a public address (unreachable here), then loopback, as a rebinding attacker would.
      const address = calls === 1 ? '93.184.216.34' : '127.0.0.1';
      if (opts?.all) cb(null, [{ address, family: 4 }]);
      else cb(null, address, 4);
    }) as unknown as import('node:net').LookupFunction;
    const t = new WebhookTransport([], { lookup });
    const first = await t.post(`http://hooks.example.com:${port}/cb`, '{}', {}, 300);
    expect(first.ok).toBe(false);
    expect(first.blocked).toBeUndefined(); // allowed address, just unreachable
    const second = await t.post(`http://hooks.example.com:${port}/cb`, '{}', {}, 2_000);
    expect(second).toMatchObject({ ok: false, blocked: true, error: 'blocked: address not allowed' });
    expect(hits).toBe(0);
    t.close();
  });
  it('delivers to an allowlisted address and reports errors without the URL', async () => {
    const t = new WebhookTransport(['127.0.0.1/32']);
    expect(await t.post(`http://user:secret@127.0.0.1:${port}/cb`, '{}', {}, 2_000)).toEqual({
      ok: true,
      status: 204,
    });
    expect(hits).toBe(1);
    const refused = await t.post('http://user:secret@127.0.0.1:1/cb', '{}', {}, 2_000);
    expect(refused).toMatchObject({ ok: false, error: 'connection refused' });
    expect(JSON.stringify(refused)).not.toContain('secret');
    t.close();
  });
});

describe('webhook signature', () => {
  it('is HMAC-SHA256 over "timestamp.body"', () => {
    expect(signWebhook('k', 'body', 5)).toBe(
      `t=5,v1=${createHmac('sha256', 'k').update('5.body').digest('hex')}`,
    );
  });
});
