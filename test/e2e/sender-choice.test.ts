import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/smpp.ts';

let g: TestGateway;
let auth: Record<string, string>;
const B = '+15550109881';
const C = '+15550109882';

beforeAll(async () => {
  g = await startTestGateway({ file: import.meta.filename });
  auth = { authorization: `Bearer ${g.account.apiKey}` };
  await g.gw.accounts.addNumber(g.account.id, B, 'local');
  await g.gw.accounts.addNumber(g.account.id, C, 'local');
});
afterAll(() => g?.stop());

const send = async (body: Record<string, unknown>) => g.request('POST', '/v1/messages', body, auth);
const contact = async (number: string) =>
  (await g.request('POST', '/v1/contacts', { number }, auth)).json as { id: string };

describe('team members and the sender rule', () => {
  it('users: create, read, update, list; numbers must be the account’s; emails unique; scoped by account', async () => {
    const u = await g.request(
      'POST',
      '/v1/users',
      { name: 'Dana', email: 'dana@example.com', defaultNumber: C },
      auth,
    );
    expect(u.status).toBe(201);
    expect(u.json).toMatchObject({ name: 'Dana', email: 'dana@example.com', defaultNumber: C });
    const dup = await g.request('POST', '/v1/users', { name: 'D2', email: 'DANA@example.com' }, auth);
    expect([dup.status, dup.json.error.code]).toEqual([409, 'EMAIL_TAKEN']);
    const foreign = await g.request('POST', '/v1/users', { name: 'X', defaultNumber: '+15550100999' }, auth);
    expect([foreign.status, foreign.json.error.code]).toEqual([404, 'NUMBER_NOT_FOUND']);
    const bad = await g.request('POST', '/v1/users', { name: 'X', defaultNumber: 'not a number' }, auth);
    expect(bad.status).toBe(400);
    const extra = await g.request('POST', '/v1/users', { name: 'X', role: 'admin' }, auth);
    expect(extra.status).toBe(400);

    const p = await g.request(
      'PATCH',
      `/v1/users/${u.json.id}`,
      { defaultNumber: null, name: 'Dana K' },
      auth,
    );
    expect(p.json).toMatchObject({ name: 'Dana K', defaultNumber: null, email: 'dana@example.com' });
    expect((await g.request('GET', `/v1/users/${u.json.id}`, undefined, auth)).json.name).toBe('Dana K');
    const list = await g.request('GET', '/v1/users?limit=1', undefined, auth);
    expect(list.json.data.map((x: { id: string }) => x.id)).toContain(u.json.id);

    const other = await g.createAccount('Other', '+15550107701');
    const theirs = { authorization: `Bearer ${other.apiKey}` };
    expect((await g.request('GET', `/v1/users/${u.json.id}`, undefined, theirs)).status).toBe(404);
    expect((await g.request('PATCH', `/v1/users/${u.json.id}`, { name: 'x' }, theirs)).status).toBe(404);
    expect((await g.request('GET', '/v1/users', undefined, theirs)).json.data).toEqual([]);
    expect((await g.request('GET', '/v1/users')).status).toBe(401);
  });

  it('picks assigned, else sticky, else the user default, else the account default, else 422', async () => {
    const dana = (await g.request('POST', '/v1/users', { name: 'Dana', defaultNumber: C }, auth)).json;
    const first = '+14155550301';
    const a = await send({ to: first, body: 'hello' });
    expect([a.status, a.json.from]).toEqual([202, g.account.number]); // account default (first number)
    expect((await send({ to: first, body: 'hi', userId: dana.id })).json.from).toBe(C);

    // Sticky: the contact texted B; that beats the user's default.
    const sticky = '+14155550302';
    g.sim.injectMo({ from: sticky, to: B, text: 'hi there' });
    let from = '';
    await waitFor(
      () => from === B,
      10_000,
      'sticky sender',
      async () => {
        from = (await send({ to: sticky, body: 'answer', userId: dana.id })).json.from;
      },
    );
    // Assigned beats sticky.
    const stickyId = (
      await g.request('GET', `/v1/contacts?number=${encodeURIComponent(sticky)}`, undefined, auth)
    ).json.data[0].id;
    const pin = await g.request('PATCH', `/v1/contacts/${stickyId}`, { assignedNumber: C }, auth);
    expect(pin.json.assignedNumber).toBe(C);
    expect((await send({ to: sticky, body: 'pinned' })).json.from).toBe(C);
    // An explicit from wins and must be the account's.
    expect((await send({ to: sticky, body: 'explicit', from: g.account.number })).json.from).toBe(
      g.account.number,
    );
    expect((await send({ to: sticky, body: 'x', from: '+15550107701' })).json.error.code).toBe(
      'NUMBER_NOT_FOUND',
    );

    // The pre-selection a UI shows, with the candidates and why each is named.
    const choice = await g.request(
      'GET',
      `/v1/contacts/${stickyId}/sender?userId=${dana.id}`,
      undefined,
      auth,
    );
    expect(choice.json.selected).toEqual({ number: C, type: 'local', source: 'assigned' });
    expect(choice.json.candidates).toEqual([
      { number: g.account.number, type: expect.any(String), sources: ['account_default'] },
      { number: B, type: 'local', sources: ['sticky'] },
      { number: C, type: 'local', sources: ['assigned', 'user_default'] },
    ]);
    const unpinned = await g.request('PATCH', `/v1/contacts/${stickyId}`, { assignedNumber: null }, auth);
    expect(unpinned.json.assignedNumber).toBeNull();
    expect(
      (await g.request('GET', `/v1/contacts/${stickyId}/sender`, undefined, auth)).json.selected.source,
    ).toBe('sticky');
    const badPin = await g.request(
      'PATCH',
      `/v1/contacts/${stickyId}`,
      { assignedNumber: '+15550107701' },
      auth,
    );
    expect(badPin.json.error.code).toBe('NUMBER_NOT_FOUND');

    // Unknown or malformed users, and no default at all.
    const unknown = await send({ to: first, body: 'x', userId: '00000000-0000-4000-8000-000000000000' });
    expect([unknown.status, unknown.json.error.code]).toEqual([422, 'UNKNOWN_USER']);
    expect((await send({ to: first, body: 'x', userId: 'robert); drop table users' })).status).toBe(400);
    const cid = (await contact(first)).id;
    expect(
      (
        await g.request(
          'GET',
          `/v1/contacts/${cid}/sender?userId=00000000-0000-4000-8000-000000000000`,
          undefined,
          auth,
        )
      ).json.error.code,
    ).toBe('UNKNOWN_USER');

    expect((await g.request('PUT', '/v1/settings/sending', { defaultNumber: null }, auth)).status).toBe(200);
    const none = await send({ to: first, body: 'x' });
    expect([none.status, none.json.error.code]).toEqual([422, 'NO_SENDER_NUMBER']);
    expect((await g.request('GET', `/v1/contacts/${cid}/sender`, undefined, auth)).json.selected).toBeNull();
    // A batch resolves each item by the same rule (one look-up for the batch).
    const batch = await g.request(
      'POST',
      '/v1/messages/batch',
      {
        messages: [
          { to: first, body: 'a' },
          { to: first, body: 'b', userId: dana.id },
          { to: sticky, body: 'c' },
        ],
      },
      auth,
    );
    expect(
      batch.json.results.map((r: { from?: string; error?: { code: string } }) => r.from ?? r.error?.code),
    ).toEqual(['NO_SENDER_NUMBER', C, B]);
    const put = await g.request('PUT', '/v1/settings/sending', { defaultNumber: B }, auth);
    expect(put.json.defaultNumber).toBe(B);
    expect((await g.request('GET', '/v1/settings/sending', undefined, auth)).json.defaultNumber).toBe(B);
    expect((await send({ to: first, body: 'x' })).json.from).toBe(B);
    expect(
      (await g.request('PUT', '/v1/settings/sending', { defaultNumber: '+15550107701' }, auth)).status,
    ).toBe(404);
  });
});
