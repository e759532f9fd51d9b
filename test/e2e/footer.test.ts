import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_COMPLIANCE } from '../../src/compliance/settings.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

const FOOTER = DEFAULT_COMPLIANCE.footer.text;
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function gateways() {
  const a = await startTestGateway({ file: import.meta.filename, env: { PARLEY_FOOTER_DEFAULT: 'on' } });
  stops.push(() => a.stop());
  const b = await startTestGateway({
    file: import.meta.filename,
    env: { PARLEY_FOOTER_DEFAULT: 'on' },
    shared: { schema: a.schema, sim: a.sim },
    noAccount: true,
  });
  stops.push(() => b.stop());
  return { a, b, auth: { authorization: `Bearer ${a.account.apiKey}` } };
}

const bodies = async (g: TestGateway, to: string) =>
  (
    await g.gw.db.query<{ body: string; segments: number }>(
      'SELECT body, segments FROM messages WHERE to_e164 = $1 ORDER BY created_at, id',
      [to],
    )
  ).rows;

describe('the first-message footer', () => {
  it('goes on exactly one of 50 racing first messages across two instances, and never again', async () => {
    const { a, b, auth } = await gateways();
    const to = '+14155550191';
    const rs = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 ? a : b).request('POST', '/v1/messages', { to, body: `hello ${i}` }, auth),
      ),
    );
    expect(rs.every((r) => r.status === 202)).toBe(true);
    const later = await a.request(
      'POST',
      '/v1/messages/batch',
      {
        messages: [
          { to, body: 'later' },
          { to: '+14155550192', body: 'x' },
          { to: '+14155550192', body: 'y' },
        ],
      },
      auth,
    );
    expect(later.status).toBe(200);
    const rows = await bodies(a, to);
    expect(rows.filter((r) => r.body.endsWith(`\n${FOOTER}`))).toHaveLength(1);
    expect(rows).toHaveLength(51);
    const other = await bodies(a, '+14155550192');
    // The first in the request carries it (ids within one millisecond do not sort in request order).
    expect(other.map((r) => r.body).sort()).toEqual([`x\n${FOOTER}`, 'y']);
    await a.waitFinal(rs.map((r) => r.json.id));
    const atSim = a.sim.core.listMessages(1000).filter((m) => m.to === to.slice(1));
    expect(atSim.filter((m) => String(m.text).endsWith(FOOTER))).toHaveLength(1);
  });

  it('counts in segments and encoding; can be turned off or changed; a refused message claims nothing', async () => {
    const { a, auth } = await gateways();
    const to = '+14155550193';
    const r = await a.request('POST', '/v1/messages', { to, body: 'x'.repeat(150) }, auth);
    expect(r.json.segments).toBe(2); // 150 + newline + footer > 160
    // Opted out: refused, and its footer is not used up.
    await a.request('POST', '/v1/contacts/opt-outs', { numbers: ['+14155550194'] }, auth);
    const refused = await a.request('POST', '/v1/messages', { to: '+14155550194', body: 'no' }, auth);
    expect(refused.status).toBe(422);
    const c = (await a.request('GET', '/v1/contacts?number=%2B14155550194', undefined, auth)).json.data[0];
    await a.request('PATCH', `/v1/contacts/${c.id}`, { optedOut: false }, auth);
    await a.request('POST', '/v1/messages', { to: '+14155550194', body: 'welcome' }, auth);
    expect((await bodies(a, '+14155550194')).map((x) => x.body)).toEqual([`welcome\n${FOOTER}`]);
    const put = await a.request(
      'PUT',
      '/v1/settings/messaging-compliance',
      { footer: { text: 'Txt STOP to end' } },
      auth,
    );
    expect(put.json.footer).toEqual({ enabled: true, text: 'Txt STOP to end' });
    await a.request('POST', '/v1/messages', { to: '+14155550195', body: 'hi' }, auth);
    expect((await bodies(a, '+14155550195')).map((x) => x.body)).toEqual(['hi\nTxt STOP to end']);
    await a.request('PUT', '/v1/settings/messaging-compliance', { footer: { enabled: false } }, auth);
    await a.request('POST', '/v1/messages', { to: '+14155550196', body: 'plain' }, auth);
    expect((await bodies(a, '+14155550196')).map((x) => x.body)).toEqual(['plain']);
    const bad = await a.request('PUT', '/v1/settings/messaging-compliance', { footer: { text: '' } }, auth);
    expect(bad.json.error.code).toBe('VALIDATION_FAILED');
  });

  it('a message to a contact whose first message is stored claims nothing: no row lock per message', async () => {
    // Found: every message claimed again (an upsert that locks the contact's row even when it
    // changes nothing): a write per message to a known recipient, and a lock 50 racing sends queue on.
    const { a, auth } = await gateways();
    const to = '+14155550189';
    await a.request('POST', '/v1/messages', { to, body: 'first' }, auth);
    const xmax = async () =>
      (
        await a.gw.db.query<{ x: string }>(
          'SELECT xmax::text AS x FROM contacts WHERE account_id = $1 AND e164 = $2',
          [a.account.id, to],
        )
      ).rows[0]?.x;
    const before = await xmax();
    const rs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        a.request('POST', '/v1/messages', { to, body: `again ${i}` }, auth),
      ),
    );
    expect(rs.every((r) => r.status === 202)).toBe(true);
    expect(await xmax()).toBe(before);
    const rows = await bodies(a, to);
    expect(rows).toHaveLength(21);
    expect(rows.filter((r) => r.body.endsWith(`\n${FOOTER}`)).map((r) => r.body)).toEqual([
      `first\n${FOOTER}`,
    ]);
  });

  it('a claim whose message was never stored is given up after a minute', async () => {
    const { a, auth } = await gateways();
    const to = '+14155550197';
    const lost = await a.gw.contacts.claimFirstMessages([
      { accountId: a.account.id, to, messageId: '00000000-0000-4000-8000-0000000000aa' },
    ]);
    expect(lost.size).toBe(1);
    await a.request('POST', '/v1/messages', { to, body: 'within the minute' }, auth);
    await a.gw.db.query(
      "UPDATE contacts SET first_message_at = now() - interval '2 minutes' WHERE account_id = $1 AND e164 = $2",
      [a.account.id, to],
    );
    await a.request('POST', '/v1/messages', { to, body: 'after' }, auth);
    expect((await bodies(a, to)).map((x) => x.body)).toEqual(['within the minute', `after\n${FOOTER}`]);
  });

  it('warns when a first message does not name the business; the dry-run counts the footer for a new contact', async () => {
    const { a, auth } = await gateways();
    const first = await a.request(
      'POST',
      '/v1/messages',
      { to: '+14155550198', body: 'Your table is ready' },
      auth,
    );
    expect(first.json.warnings).toEqual(['business_name_missing']);
    const again = await a.request('POST', '/v1/messages', { to: '+14155550198', body: 'Still there?' }, auth);
    expect(again.json.warnings).toBeUndefined();
    await a.request('PUT', '/v1/settings/messaging-compliance', { businessName: 'Acme Diner' }, auth);
    const named = await a.request(
      'POST',
      '/v1/messages',
      { to: '+14155550199', body: 'Acme Diner: table ready' },
      auth,
    );
    expect(named.json.warnings).toBeUndefined();
    const unnamed = await a.request(
      'POST',
      '/v1/messages/batch',
      { messages: [{ to: '+14155550200', body: 'table ready' }] },
      auth,
    );
    expect(unnamed.json.results[0].warnings).toEqual(['business_name_missing']);

    const body = 'x'.repeat(150);
    const fresh = await a.request('POST', '/v1/messages/encode', { body, to: '+14155550210' }, auth);
    expect(fresh.json).toMatchObject({ segments: 2, footer: { applies: true, addsSegments: 1 } });
    const known = await a.request('POST', '/v1/messages/encode', { body, to: '+14155550198' }, auth);
    expect(known.json).toMatchObject({ segments: 1, footer: { applies: false, addsSegments: 0 } });
    const none = await a.request('POST', '/v1/messages/encode', { body }, auth);
    expect(none.json.footer).toBeUndefined();
    const bad = await a.request('POST', '/v1/messages/encode', { body, to: 'nope' }, auth);
    expect(bad.json.error.code).toBe('INVALID_TO_NUMBER');
  });
});
