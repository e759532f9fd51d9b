import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ file: import.meta.filename });
});
afterAll(async () => {
  await t?.stop();
});
const auth = () => ({ authorization: `Bearer ${t.account.apiKey}` });

/** A new account with its messaging-compliance settings put (the PUT's answer in `put`). */
async function accountWithSettings(name: string, number: string, settings: Record<string, unknown>) {
  const acc = await t.createAccount(name, number);
  const auth = { authorization: `Bearer ${acc.apiKey}` };
  const put = await t.request('PUT', '/v1/settings/messaging-compliance', settings, auth);
  return { auth, put };
}

describe('contacts and consent API', () => {
  it('creates, finds by number, updates, and refuses bad input with 4xx', async () => {
    const c = await t.request('POST', '/v1/contacts', { number: '(415) 555-0150', name: 'Ann' }, auth());
    expect(c.status).toBe(201);
    expect(c.json).toMatchObject({ number: '+14155550150', name: 'Ann', optedOut: false });
    const again = await t.request('POST', '/v1/contacts', { number: '+14155550150' }, auth());
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(c.json.id);
    const found = await t.request('GET', '/v1/contacts?number=%2B14155550150', undefined, auth());
    expect(found.json.data.map((x: { id: string }) => x.id)).toEqual([c.json.id]);
    const patched = await t.request(
      'PATCH',
      `/v1/contacts/${c.json.id}`,
      { timeZone: 'America/Chicago' },
      auth(),
    );
    expect(patched.json.timeZone).toBe('America/Chicago');

    for (const [method, url, body, code] of [
      ['POST', '/v1/contacts', { number: 'not a number' }, 'INVALID_PHONE_NUMBER'],
      ['POST', '/v1/contacts', { number: '+14155550151', timeZone: 'Mars/Olympus' }, 'VALIDATION_FAILED'],
      ['POST', '/v1/contacts', { number: '+14155550151', extra: 1 }, 'VALIDATION_FAILED'],
      ['POST', '/v1/contacts', { number: '+14155550151', name: 'a\u0000b' }, 'INVALID_CHARACTERS'],
      ['GET', '/v1/contacts/not-a-uuid', undefined, 'VALIDATION_FAILED'],
      ['GET', '/v1/contacts/00000000-0000-4000-8000-000000000000', undefined, 'CONTACT_NOT_FOUND'],
      ['GET', '/v1/contacts?cursor=garbage', undefined, 'INVALID_CURSOR'],
      ['POST', '/v1/contacts/opt-outs', { numbers: [] }, 'VALIDATION_FAILED'],
      [
        'PUT',
        '/v1/settings/messaging-compliance',
        { keywords: { optOut: [], optIn: [], help: [] } },
        'VALIDATION_FAILED',
      ],
      ['PUT', '/v1/settings/messaging-compliance', { optOutReply: '' }, 'VALIDATION_FAILED'],
    ] as const) {
      const r = await t.request(method, url, body, auth());
      expect([r.status, r.json.error?.code], `${method} ${url} ${JSON.stringify(body)}`).toEqual([
        r.status >= 400 && r.status < 500 ? r.status : -1,
        code,
      ]);
    }
    // Another account sees none of it.
    const other = await t.createAccount('Other', '+15550107654');
    const theirs = await t.request('GET', `/v1/contacts/${c.json.id}`, undefined, {
      authorization: `Bearer ${other.apiKey}`,
    });
    expect(theirs.status).toBe(404);
    expect((await t.request('GET', '/v1/contacts', undefined)).status).toBe(401);
  });

  it('records opt-outs from the API and an import, with the consent log, and refuses sends to them', async () => {
    const imp = await t.request(
      'POST',
      '/v1/contacts/opt-outs',
      { numbers: ['+14155550160', '4155550161', '4155550161', 'nope', '+14155550160'] },
      auth(),
    );
    expect(imp.json).toEqual({ optedOut: 2, alreadyOptedOut: 0, invalid: [{ index: 3, number: 'nope' }] });
    const again = await t.request('POST', '/v1/contacts/opt-outs', { numbers: ['+14155550160'] }, auth());
    expect(again.json).toMatchObject({ optedOut: 0, alreadyOptedOut: 1 });
    const refused = await t.request('POST', '/v1/messages', { to: '+14155550161', body: 'hi' }, auth());
    expect(refused.status).toBe(422);
    expect(refused.json.error).toMatchObject({ code: 'CONTACT_OPTED_OUT', action: 'fix-request' });
    const batch = await t.request(
      'POST',
      '/v1/messages/batch',
      {
        messages: [
          { to: '+14155550161', body: 'x' },
          { to: '+14155550162', body: 'y' },
        ],
      },
      auth(),
    );
    expect(batch.json.results[0].error.code).toBe('CONTACT_OPTED_OUT');
    expect(batch.json.results[1].status).toBe('queued');

    const contact = (await t.request('GET', '/v1/contacts?number=%2B14155550161', undefined, auth())).json
      .data[0];
    expect(contact).toMatchObject({ optedOut: true, optedOutSource: 'import' });
    const optIn = await t.request('PATCH', `/v1/contacts/${contact.id}`, { optedOut: false }, auth());
    expect(optIn.json).toMatchObject({ optedOut: false, optedOutSource: 'api' });
    const log = await t.request('GET', `/v1/contacts/${contact.id}/consent`, undefined, auth());
    expect(log.json.data.map((e: { action: string; source: string }) => [e.action, e.source])).toEqual([
      ['opt_out', 'import'],
      ['opt_in', 'api'],
    ]);
    expect((await t.request('POST', '/v1/messages', { to: '+14155550161', body: 'hi' }, auth())).status).toBe(
      202,
    );
  });

  it('creates the contact on the first send, footer on or off, once under racing batches (regression)', async () => {
    // Found: with the footer off, a send created no contact (only the footer claim or a reply did).
    const { auth: a2, put: off } = await accountWithSettings('First sends', '+15550106777', {
      footer: { enabled: false },
    });
    expect(off.json.footer.enabled).toBe(false);
    const numbers = Array.from({ length: 12 }, (_, i) => `+1415555${String(300 + i).padStart(4, '0')}`);
    const known = await t.request('POST', '/v1/contacts', { number: numbers[0] }, a2);
    expect(known.json.firstMessageAt).toBeNull();
    // Eight batches at once, each naming every contact (some twice) in its own order: one contact
    // per number, no batch refused (concurrent inserts of new contacts must not deadlock).
    const batches = Array.from({ length: 8 }, (_, b) => {
      const rotated = [...numbers.slice(b), ...numbers.slice(0, b), numbers[b]!];
      const order = b % 2 ? rotated.reverse() : rotated;
      return t.request(
        'POST',
        '/v1/messages/batch',
        { messages: order.map((to) => ({ to, body: `b${b}` })) },
        a2,
      );
    });
    for (const r of await Promise.all(batches)) {
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ accepted: numbers.length + 1, rejected: 0 });
    }
    const listed = await t.request('GET', '/v1/contacts?limit=100', undefined, a2);
    expect(listed.json.data.map((c: { number: string }) => c.number).sort()).toEqual([...numbers].sort());
    for (const c of listed.json.data) expect(c.firstMessageAt, c.number).not.toBeNull();
    // The footer was off: none of these messages carries it.
    const sent = await t.gw.db.query<{ body: string }>('SELECT body FROM messages WHERE to_e164 = $1', [
      numbers[1],
    ]);
    expect(sent.rows.length).toBe(9);
    for (const m of sent.rows) expect(m.body).not.toContain('Reply STOP');

    // An idempotent retry creates nothing more; a new number with the footer on is created once, by
    // the claim, and its first message carries the footer.
    const key = { ...a2, 'idempotency-key': 'first-send-retry' };
    const once = await t.request('POST', '/v1/messages', { to: '+14155550399', body: 'hello' }, key);
    const twice = await t.request('POST', '/v1/messages', { to: '+14155550399', body: 'hello' }, key);
    expect(twice.json.id).toBe(once.json.id);
    await t.request('PUT', '/v1/settings/messaging-compliance', { footer: { enabled: true } }, a2);
    const footed = await t.request('POST', '/v1/messages', { to: '+14155550398', body: 'hello' }, a2);
    expect(footed.status).toBe(202);
    const footedRow = await t.gw.db.query<{ body: string }>('SELECT body FROM messages WHERE id = $1', [
      footed.json.id,
    ]);
    expect(footedRow.rows[0]?.body).toBe('hello\nReply STOP to unsubscribe.');
    const all = await t.request('GET', '/v1/contacts?limit=100', undefined, a2);
    const counts = new Map<string, number>();
    for (const c of all.json.data) counts.set(c.number, (counts.get(c.number) ?? 0) + 1);
    expect(all.json.data.length).toBe(numbers.length + 2);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(
      all.json.data.find((c: { number: string }) => c.number === '+14155550398').firstMessageAt,
    ).not.toBeNull();
  });

  it('keeps compliance settings per account, defaults first', async () => {
    const d = await t.request('GET', '/v1/settings/messaging-compliance', undefined, auth());
    expect(d.json.keywords.optOut).toContain('STOP');
    const put = await t.request(
      'PUT',
      '/v1/settings/messaging-compliance',
      { businessName: 'Acme', keywords: { optOut: ['STOP', 'ARRÊT'] } },
      auth(),
    );
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({
      businessName: 'Acme',
      keywords: { optOut: ['STOP', 'ARRÊT'], optIn: ['START', 'YES', 'UNSTOP'] },
    });
    const read = await t.request('GET', '/v1/settings/messaging-compliance', undefined, auth());
    expect(read.json).toEqual(put.json);
  });

  it('caps messages per contact when the account sets a frequency cap', async () => {
    const { auth: auth2, put } = await accountWithSettings('Capped', '+15550106666', {
      frequencyCap: { enabled: true, max: 2 },
    });
    expect(put.json.frequencyCap).toEqual({ enabled: true, max: 2, hours: 24 });
    const codes: number[] = [];
    for (let i = 0; i < 3; i++)
      codes.push(
        (await t.request('POST', '/v1/messages', { to: '+14155550230', body: `m${i}` }, auth2)).status,
      );
    expect(codes).toEqual([202, 202, 422]);
    const r = await t.request('POST', '/v1/messages', { to: '+14155550230', body: 'm3' }, auth2);
    expect(r.json.error.code).toBe('FREQUENCY_CAP');
    expect(
      (await t.request('POST', '/v1/messages', { to: '+14155550231', body: 'other contact' }, auth2)).status,
    ).toBe(202);
    const bad = await t.request(
      'PUT',
      '/v1/settings/messaging-compliance',
      { frequencyCap: { max: 0 } },
      auth2,
    );
    expect(bad.json.error.code).toBe('VALIDATION_FAILED');
  });
});
