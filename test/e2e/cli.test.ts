import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { runTs } from '../helpers/processes.ts';

let t: TestGateway;
let url: string;
beforeAll(async () => {
  t = await startTestGateway({ file: import.meta.filename });
  url = await t.gw.http.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => t?.stop());

async function cli(args: string[], env: Record<string, string> = {}) {
  const c = runTs('src/cli/main.ts', args, { PARLEY_URL: url, PARLEY_ADMIN_TOKEN: ADMIN_TOKEN, ...env });
  const code = await c.exited;
  return { code, out: c.lines.join('\n') };
}

describe('operator CLI over the admin API', () => {
  it('creates an account (JSON) and adds a number; the key works for sending', async () => {
    const a = await cli(['account', 'create', '--name', 'Acme', '--json']);
    expect(a.code).toBe(0);
    const acc = JSON.parse(a.out.trim().split('\n').pop()!) as { id: string; apiKey: string };
    expect(Object.keys(acc).sort()).toEqual(['apiKey', 'id']);
    const n = await cli([
      'number',
      'add',
      '--account',
      acc.id,
      '--number',
      '+1 (415) 555-0199',
      '--type',
      'toll_free',
      '--json',
    ]);
    expect(n.code).toBe(0);
    expect(JSON.parse(n.out.trim().split('\n').pop()!)).toMatchObject({
      accountId: acc.id,
      number: '+14155550199',
      type: 'toll_free',
    });
    const send = await t.request(
      'POST',
      '/v1/messages',
      { to: '+14155550123', body: 'from the CLI account' },
      { authorization: `Bearer ${acc.apiKey}` },
    );
    expect(send.status).toBe(202);
    const plain = await cli(['account', 'create', '--name', 'Human']);
    expect(plain.out).toMatch(/api key\s+pk_/);
  });

  it('creates, lists and revokes API keys; a revoked key stops working', async () => {
    const created = await cli(['key', 'create', '--account', t.account.id, '--name', 'ci', '--json']);
    expect(created.code).toBe(0);
    const k = JSON.parse(created.out.trim().split('\n').pop()!) as {
      id: string;
      apiKey: string;
      prefix: string;
    };
    const auth = { authorization: `Bearer ${k.apiKey}` };
    expect((await t.request('GET', '/v1/numbers', undefined, auth)).status).toBe(200);
    const list = await cli(['key', 'list', '--account', t.account.id, '--json']);
    expect(JSON.parse(list.out.trim().split('\n').pop()!).map((x: { id: string }) => x.id)).toContain(k.id);
    const revoked = await cli(['key', 'revoke', k.id]);
    expect(revoked.code).toBe(0);
    expect(revoked.out).toMatch(/revoked/);
    expect((await t.request('GET', '/v1/numbers', undefined, auth)).status).toBe(401);
    const again = await cli(['key', 'revoke', '00000000-0000-4000-8000-000000000000']);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/API_KEY_NOT_FOUND/);
  });

  it('fails with the API error and a non-zero exit', async () => {
    const bad = await cli([
      'number',
      'add',
      '--account',
      '00000000-0000-0000-0000-000000000000',
      '--number',
      '+14155550100',
      '--type',
      'local',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/ACCOUNT_NOT_FOUND/);
    const wrongType = await cli(['number', 'add', '--account', 'x', '--number', '1', '--type', 'landline']);
    expect(wrongType.code).not.toBe(0);
    expect(wrongType.out).toMatch(/Allowed choices are local, toll_free, short_code, mobile/);
    const noToken = await cli(['account', 'create', '--name', 'x'], { PARLEY_ADMIN_TOKEN: '' });
    expect(noToken.code).toBe(1);
    const down = await cli(['account', 'create', '--name', 'x'], { PARLEY_URL: 'http://127.0.0.1:1' });
    expect(down.out).toMatch(/cannot reach the gateway/);
  });

  it('imports an opt-out list from a file (CSV or one per line); the numbers are refused afterwards', async () => {
    const file = path.join(os.tmpdir(), `parley-optouts-${process.pid}.csv`);
    await writeFile(file, 'phone,name\n+14155550171,Ann\n"4155550172",Bob\n\nnot-a-number\n+14155550171\n');
    const r = await cli(['contacts', 'import-opt-outs', '--account', t.account.id, '--file', file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('opted out 2, already opted out 0, unreadable 1');
    expect(r.out).toContain('entry 3: not a phone number: not-a-number');
    const refused = await t.request(
      'POST',
      '/v1/messages',
      { to: '+14155550172', body: 'x' },
      { authorization: `Bearer ${t.account.apiKey}` },
    );
    expect(refused.json.error.code).toBe('CONTACT_OPTED_OUT');
    const missing = await cli([
      'contacts',
      'import-opt-outs',
      '--account',
      t.account.id,
      '--file',
      `${file}.nope`,
    ]);
    expect(missing.code).toBe(1);
    const noAccount = await cli([
      'contacts',
      'import-opt-outs',
      '--account',
      '00000000-0000-4000-8000-000000000000',
      '--file',
      file,
    ]);
    expect(noAccount.out).toContain('ACCOUNT_NOT_FOUND');
  });
});
