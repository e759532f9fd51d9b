import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

let g: TestGateway;
let auth: Record<string, string>;
beforeAll(async () => {
  g = await startTestGateway({ file: import.meta.filename });
  auth = { authorization: `Bearer ${g.account.apiKey}` };
});
afterAll(() => g?.stop());

const control = (p: string, body: unknown) =>
  fetch(`http://127.0.0.1:${g.sim.controlPort}${p}`, { method: 'POST', body: JSON.stringify(body) });

describe('numbers: search, buy at the quoted price, release', () => {
  it('searches the inventory by type, area code, region and digits; refuses bad criteria', async () => {
    const local = await g.request(
      'GET',
      '/v1/available-numbers?type=local&areaCode=512&limit=5',
      undefined,
      auth,
    );
    expect(local.status).toBe(200);
    expect(local.json.data).toHaveLength(5);
    for (const n of local.json.data)
      expect(n).toMatchObject({
        type: 'local',
        region: 'TX',
        locality: 'Austin',
        monthlyCost: '1.15',
        currency: 'USD',
      });
    expect(local.json.data.every((n: { number: string }) => n.number.startsWith('+1512'))).toBe(true);
    const tf = await g.request(
      'GET',
      '/v1/available-numbers?type=toll_free&areaCode=888&limit=3',
      undefined,
      auth,
    );
    expect(tf.json.data.map((n: { number: string }) => n.number.slice(0, 5))).toEqual([
      '+1888',
      '+1888',
      '+1888',
    ]);
    const fl = await g.request('GET', '/v1/available-numbers?region=FL&limit=100', undefined, auth);
    expect(new Set(fl.json.data.map((n: { locality: string }) => n.locality))).toEqual(new Set(['Miami']));
    const digits = local.json.data[0].number.slice(-4);
    const has = await g.request('GET', `/v1/available-numbers?contains=${digits}`, undefined, auth);
    expect(has.json.data.every((n: { number: string }) => n.number.includes(digits))).toBe(true);
    for (const q of [
      'type=landline',
      'areaCode=12',
      'region=tx',
      'contains=12a',
      'limit=0',
      'limit=101',
      'x=1',
    ])
      expect((await g.request('GET', `/v1/available-numbers?${q}`, undefined, auth)).status, q).toBe(400);
    expect((await g.request('GET', '/v1/available-numbers')).status).toBe(401);
  });

  it('buys only at the quoted price, once; the number sends at once; release gives it back', async () => {
    const [n] = (
      await g.request('GET', '/v1/available-numbers?type=local&areaCode=415&limit=1', undefined, auth)
    ).json.data;
    // The price moved since the quote: 409 with the new price, nothing bought.
    await control('/provider/price', { factor: 2 });
    const moved = await g.request(
      'POST',
      '/v1/numbers',
      { number: n.number, confirmMonthlyCost: n.monthlyCost },
      auth,
    );
    expect([moved.status, moved.json.error.code, moved.json.error.details]).toEqual([
      409,
      'PRICE_CHANGED',
      { monthlyCost: '2.30' },
    ]);
    await control('/provider/price', { factor: 1 });
    const bought = await g.request(
      'POST',
      '/v1/numbers',
      { number: n.number, confirmMonthlyCost: '1.15' },
      auth,
    );
    expect(bought.status).toBe(201);
    expect(bought.json).toMatchObject({ number: n.number, type: 'local', accountDefault: false });
    const again = await g.request(
      'POST',
      '/v1/numbers',
      { number: n.number, confirmMonthlyCost: '1.15' },
      auth,
    );
    expect([again.status, again.json.error.code]).toEqual([409, 'NUMBER_UNAVAILABLE']);
    const other = await g.createAccount('Other', '+15550107704');
    const theirs = { authorization: `Bearer ${other.apiKey}` };
    expect(
      (await g.request('POST', '/v1/numbers', { number: n.number, confirmMonthlyCost: '1.15' }, theirs))
        .status,
    ).toBe(409);
    const gone = await g.request(
      'GET',
      `/v1/available-numbers?contains=${n.number.slice(2)}`,
      undefined,
      auth,
    );
    expect(gone.json.data).toEqual([]);
    const sent = await g.request(
      'POST',
      '/v1/messages',
      { to: '+14155550601', body: 'from the new one', from: n.number },
      auth,
    );
    expect([sent.status, sent.json.from]).toEqual([202, n.number]);
    // Not sold here, malformed, another account's: refused.
    expect(
      (await g.request('POST', '/v1/numbers', { number: '+15550000000', confirmMonthlyCost: '1.15' }, auth))
        .json.error.code,
    ).toBe('NUMBER_UNAVAILABLE');
    for (const body of [
      { number: 'abc', confirmMonthlyCost: '1' },
      { number: n.number, confirmMonthlyCost: '1,15' },
      { number: n.number },
    ])
      expect((await g.request('POST', '/v1/numbers', body, auth)).status).toBe(400);
    expect((await g.request('DELETE', `/v1/numbers/${bought.json.id}`, undefined, theirs)).status).toBe(404);

    // Pinned to a contact and a user's default: both forget it on release.
    const contact = (await g.request('POST', '/v1/contacts', { number: '+14155550602' }, auth)).json;
    await g.request('PATCH', `/v1/contacts/${contact.id}`, { assignedNumber: n.number }, auth);
    const user = (await g.request('POST', '/v1/users', { name: 'Ann', defaultNumber: n.number }, auth)).json;
    const del = await g.request('DELETE', `/v1/numbers/${bought.json.id}`, undefined, auth);
    expect(del.status).toBe(204);
    expect(
      (await g.request('GET', `/v1/contacts/${contact.id}`, undefined, auth)).json.assignedNumber,
    ).toBeNull();
    expect((await g.request('GET', `/v1/users/${user.id}`, undefined, auth)).json.defaultNumber).toBeNull();
    expect(
      (await g.request('GET', '/v1/numbers', undefined, auth)).json.data.map(
        (x: { number: string }) => x.number,
      ),
    ).toEqual([g.account.number]);
    const stale = await g.request(
      'POST',
      '/v1/messages',
      { to: '+14155550601', body: 'x', from: n.number },
      auth,
    );
    expect(stale.json.error.code).toBe('NUMBER_NOT_FOUND');
    const back = await g.request(
      'GET',
      `/v1/available-numbers?contains=${n.number.slice(2)}`,
      undefined,
      auth,
    );
    expect(back.json.data.map((x: { number: string }) => x.number)).toEqual([n.number]);
  });

  it('releasing the default number passes the default to the oldest remaining one', async () => {
    const acct = await g.createAccount('Third', '+15550107705');
    const a = { authorization: `Bearer ${acct.apiKey}` };
    const [n] = (await g.request('GET', '/v1/available-numbers?type=mobile&limit=1', undefined, a)).json.data;
    await g.request('POST', '/v1/numbers', { number: n.number, confirmMonthlyCost: n.monthlyCost }, a);
    const list = (await g.request('GET', '/v1/numbers', undefined, a)).json.data;
    expect(list.map((x: { accountDefault: boolean }) => x.accountDefault)).toEqual([true, false]);
    expect((await g.request('DELETE', `/v1/numbers/${list[0].id}`, undefined, a)).status).toBe(204);
    expect((await g.request('GET', '/v1/settings/sending', undefined, a)).json.defaultNumber).toBe(n.number);
  });

  it('configures a number: its team member (their default sender), call handling, validated', async () => {
    const acct = await g.createAccount('Config', '+15550107706');
    const a = { authorization: `Bearer ${acct.apiKey}` };
    const [n] = (await g.request('GET', '/v1/numbers', undefined, a)).json.data;
    const user = (await g.request('POST', '/v1/users', { name: 'Bo' }, a)).json;
    const p = await g.request(
      'PATCH',
      `/v1/numbers/${n.id}`,
      { assignedUserId: user.id, calls: { forwardTo: '(415) 555-0123', voicemail: true } },
      a,
    );
    expect(p.status).toBe(200);
    expect(p.json).toMatchObject({
      assignedUserId: user.id,
      calls: { forwardTo: '+14155550123', voicemail: true, recording: false },
    });
    expect((await g.request('GET', `/v1/users/${user.id}`, undefined, a)).json.defaultNumber).toBe(
      acct.number,
    );
    const cleared = await g.request(
      'PATCH',
      `/v1/numbers/${n.id}`,
      { assignedUserId: null, calls: { forwardTo: null } },
      a,
    );
    expect(cleared.json).toMatchObject({ assignedUserId: null, calls: { forwardTo: null, voicemail: true } });
    const bad = [
      [{ calls: { forwardTo: 'not a phone' } }, 400],
      [{ calls: { voicemail: 'yes' } }, 400],
      [{ calls: { transcribe: true } }, 400],
      [{ assignedUserId: 'nobody' }, 400],
      [{ assignedUserId: '00000000-0000-4000-8000-000000000000' }, 422],
    ] as const;
    for (const [body, status] of bad)
      expect((await g.request('PATCH', `/v1/numbers/${n.id}`, body, a)).status, JSON.stringify(body)).toBe(
        status,
      );
    // Another account's user cannot be given the number.
    const theirUser = (await g.request('POST', '/v1/users', { name: 'X' }, auth)).json;
    expect(
      (await g.request('PATCH', `/v1/numbers/${n.id}`, { assignedUserId: theirUser.id }, a)).status,
    ).toBe(422);
  });

  it('answers 503 when no provider is configured or it does not answer', async () => {
    const none = await startTestGateway({
      file: import.meta.filename,
      env: { PARLEY_NUMBER_PROVIDER_URL: '' },
    });
    try {
      const r = await none.request('GET', '/v1/available-numbers', undefined, {
        authorization: `Bearer ${none.account.apiKey}`,
      });
      expect(r.status).toBe(503);
    } finally {
      await none.stop();
    }
    const down = await startTestGateway({
      file: import.meta.filename,
      env: { PARLEY_NUMBER_PROVIDER_URL: 'http://127.0.0.1:9' },
    });
    try {
      const r = await down.request('GET', '/v1/available-numbers', undefined, {
        authorization: `Bearer ${down.account.apiKey}`,
      });
      expect([r.status, r.json.error.code]).toEqual([503, 'NUMBER_PROVIDER_UNAVAILABLE']);
    } finally {
      await down.stop();
    }
  });

  it('a provider answering junk (not an object, not JSON, huge, malformed numbers) is 503 or filtered, never 500', async () => {
    const answers = [
      'null',
      '[1,2,3]',
      '<html>oops</html>',
      JSON.stringify({ numbers: 'x'.repeat(2 << 20) }),
      JSON.stringify({
        numbers: [{ number: '+15125550100', type: 'pager', monthlyCost: '1' }, { number: 7 }, null],
      }),
    ];
    let next = 0;
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(answers[next++ % answers.length]);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const junk = await startTestGateway({
      file: import.meta.filename,
      env: { PARLEY_NUMBER_PROVIDER_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    });
    try {
      const a = { authorization: `Bearer ${junk.account.apiKey}` };
      const got: Array<[number, unknown]> = [];
      for (let k = 0; k < answers.length; k++) {
        const r = await junk.request('GET', '/v1/available-numbers', undefined, a);
        got.push([r.status, r.json.error?.code ?? r.json.data]);
      }
      expect(got).toEqual([
        [503, 'NUMBER_PROVIDER_UNAVAILABLE'],
        [503, 'NUMBER_PROVIDER_UNAVAILABLE'],
        [503, 'NUMBER_PROVIDER_UNAVAILABLE'],
        [503, 'NUMBER_PROVIDER_UNAVAILABLE'],
        [200, []],
      ]);
    } finally {
      await junk.stop();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
