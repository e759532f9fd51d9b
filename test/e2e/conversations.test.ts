import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/smpp.ts';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

type Conv = {
  id: string;
  contact: { number: string };
  unreadCount: number;
  lastPreview: string;
  lastNumber: string | null;
  lastDirection: string;
  needsReview: boolean;
};

async function list(g: TestGateway, query = '') {
  const r = await g.request('GET', `/v1/conversations${query}`, undefined, {
    authorization: `Bearer ${g.account.apiKey}`,
  });
  expect(r.status).toBe(200);
  return r.json as { data: Conv[]; unreadTotal: number; nextCursor: string | null };
}

async function waitThreads(g: TestGateway, pred: (l: Awaited<ReturnType<typeof list>>) => boolean) {
  let l: Awaited<ReturnType<typeof list>> | undefined;
  await waitFor(
    () => l !== undefined && pred(l),
    10_000,
    'conversations',
    async () => {
      l = await list(g);
    },
  );
  return l!;
}

describe('conversations', () => {
  it('thread replies per contact across numbers, move to the top, count unread, reply sticky, mark read', async () => {
    t = await startTestGateway({ file: import.meta.filename });
    const g = t;
    const auth = { authorization: `Bearer ${g.account.apiKey}` };
    const second = '+15550109871';
    await g.gw.accounts.addNumber(g.account.id, second, 'local');
    const ann = '+14155550201';
    const bob = '+14155550202';
    g.sim.injectMo({ from: ann, to: g.account.number, text: 'hi, is the store open?' });
    await waitThreads(g, (l) => l.data.length === 1);
    g.sim.injectMo({ from: bob, to: second, text: 'bob here' });
    g.sim.injectMo({ from: ann, to: second, text: 'ann again, other number' });
    await waitThreads(g, (x) => x.unreadTotal === 3);
    // A multipart reply arrives as one message in the thread, and moves it to the top.
    g.sim.injectMo({ from: bob, to: second, text: `long ${'x'.repeat(300)}` });
    const l = await waitThreads(g, (x) => x.unreadTotal === 4);
    expect(l.data.map((c) => [c.contact.number, c.unreadCount])).toEqual([
      [bob, 2],
      [ann, 2],
    ]);
    expect(l.data[1]).toMatchObject({
      lastPreview: 'ann again, other number',
      lastNumber: second,
      lastDirection: 'inbound',
    });
    const annThread = l.data[1]!;

    // Reply in Ann's thread: from the number she last wrote to (sticky), and it moves to the top.
    const r = await g.request(
      'POST',
      `/v1/conversations/${annThread.id}/messages`,
      { body: 'Yes, until 9pm' },
      auth,
    );
    expect(r.status).toBe(202);
    expect(r.json.from).toBe(second);
    const top = (await list(g)).data[0]!;
    expect(top).toMatchObject({ id: annThread.id, lastDirection: 'outbound', lastPreview: 'Yes, until 9pm' });
    // An explicit from must be the account's.
    const foreign = await g.request(
      'POST',
      `/v1/conversations/${annThread.id}/messages`,
      { body: 'x', from: '+15550000000' },
      auth,
    );
    expect(foreign.json.error.code).toBe('NUMBER_NOT_FOUND');

    const msgs = await g.request('GET', `/v1/conversations/${annThread.id}/messages`, undefined, auth);
    expect(
      msgs.json.data.map((m: { direction: string; to: string; body: string }) => [m.direction, m.to, m.body]),
    ).toEqual([
      ['outbound', ann, 'Yes, until 9pm'],
      ['inbound', second, 'ann again, other number'],
      ['inbound', g.account.number, 'hi, is the store open?'],
    ]);
    const page = await g.request(
      'GET',
      `/v1/conversations/${annThread.id}/messages?limit=2`,
      undefined,
      auth,
    );
    const rest = await g.request(
      'GET',
      `/v1/conversations/${annThread.id}/messages?limit=2&cursor=${page.json.nextCursor}`,
      undefined,
      auth,
    );
    expect(rest.json.data.map((m: { body: string }) => m.body)).toEqual(['hi, is the store open?']);

    expect((await g.request('POST', `/v1/conversations/${annThread.id}/read`, undefined, auth)).status).toBe(
      204,
    );
    const after = await list(g);
    expect(after.unreadTotal).toBe(2);
    expect((await list(g, '?unread=true')).data.map((c) => c.contact.number)).toEqual([bob]);
    expect((await list(g, `?number=${encodeURIComponent(second)}`)).data).toHaveLength(2);
    const firstPage = await list(g, '?limit=1');
    const second2 = await list(g, `?limit=1&cursor=${firstPage.nextCursor}`);
    expect([...firstPage.data, ...second2.data].map((c) => c.id).sort()).toEqual(
      after.data.map((c) => c.id).sort(),
    );

    // Another account sees none of it; bad ids are 4xx.
    const other = await g.createAccount('Other', '+15550107777');
    const theirs = await g.request('GET', `/v1/conversations/${annThread.id}`, undefined, {
      authorization: `Bearer ${other.apiKey}`,
    });
    expect(theirs.status).toBe(404);
    expect((await g.request('GET', '/v1/conversations/nope', undefined, auth)).status).toBe(400);
    expect(
      (
        await g.request(
          'POST',
          '/v1/conversations/00000000-0000-4000-8000-000000000000/read',
          undefined,
          auth,
        )
      ).status,
    ).toBe(404);
  });

  it('flags a thread whose reply might be an opt-out; a STOP in the thread blocks the reply', async () => {
    t = await startTestGateway({ file: import.meta.filename });
    const g = t;
    const auth = { authorization: `Bearer ${g.account.apiKey}` };
    g.sim.injectMo({ from: '+14155550211', to: g.account.number, text: 'leave me alone' });
    const l = await waitThreads(g, (x) => x.data[0]?.needsReview === true);
    g.sim.injectMo({ from: '+14155550211', to: g.account.number, text: 'STOP' });
    let code = '';
    await waitFor(
      () => code === 'CONTACT_OPTED_OUT',
      10_000,
      'the reply refused',
      async () => {
        const r = await g.request(
          'POST',
          `/v1/conversations/${l.data[0]!.id}/messages`,
          { body: 'sorry' },
          auth,
        );
        code = r.json.error?.code ?? '';
      },
    );
  });
});
