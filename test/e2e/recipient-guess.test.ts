/**
 * A single request to a recipient the gateway does not know as a contact is prepared on the guess
 * that they are none, and its insert verifies the guess (src/messaging/recipients.ts). Every way
 * the guess can be wrong — the contact was made elsewhere (another instance, an import, an MO
 * this instance never saw) with an opt-out, an assigned number or its own zone, or the account's
 * default number changed — must end as if the recipient had been read: never a message to an
 * opted-out contact, never the wrong sender, never a message stored twice or lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMessageId } from '../../src/messaging/ids.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

let g: TestGateway;
let auth: Record<string, string>;
const B = '+15550109771';

beforeAll(async () => {
  g = await startTestGateway({ file: import.meta.filename });
  auth = { authorization: `Bearer ${g.account.apiKey}` };
  await g.gw.accounts.addNumber(g.account.id, B, 'local');
});
afterAll(() => g?.stop());

const send = (body: Record<string, unknown>) => g.request('POST', '/v1/messages', body, auth);
const stored = async (to: string) =>
  (
    await g.gw.db.query<{ from_e164: string; status: string; n: string }>(
      `SELECT m.from_e164, m.status, (SELECT count(*) FROM segments s WHERE s.message_id = m.id)::text AS n
         FROM messages m WHERE m.account_id = $1 AND m.to_e164 = $2 ORDER BY m.created_at`,
      [g.account.id, to],
    )
  ).rows;
const contacts = async (to: string) =>
  Number(
    (
      await g.gw.db.query<{ n: string }>(
        'SELECT count(*)::text AS n FROM contacts WHERE account_id = $1 AND e164 = $2',
        [g.account.id, to],
      )
    ).rows[0]!.n,
  );
/** A contact this instance never read: as another instance, an import or a missed MO leaves it. */
const contactMadeElsewhere = (to: string, cols: Record<string, unknown>) =>
  g.gw.db.query(
    `INSERT INTO contacts (id, account_id, e164, ${Object.keys(cols).join(', ')})
     VALUES ($1, $2, $3, ${Object.keys(cols)
       .map((_, i) => `$${i + 4}`)
       .join(', ')})`,
    [newMessageId(), g.account.id, to, ...Object.values(cols)],
  );

describe('accepting on the guess that the recipient is no contact', () => {
  it('a new recipient: stored once with its contact and its segments; a second send reads the contact', async () => {
    const to = '+14155550801';
    const a = await send({ to, body: 'first' });
    expect([a.status, a.json.from]).toEqual([202, g.account.number]);
    const b = await send({ to, body: 'second' });
    expect(b.status).toBe(202);
    const rows = await stored(to);
    expect(rows.map((r) => [r.from_e164, r.n])).toEqual([
      [g.account.number, '1'],
      [g.account.number, '1'],
    ]);
    expect(await contacts(to)).toBe(1);
  });

  it('a contact who opted out elsewhere is refused, and nothing is stored', async () => {
    const to = '+14155550802';
    await contactMadeElsewhere(to, { dnd: true, dnd_source: 'keyword', dnd_changed_at: new Date() });
    const r = await send({ to, body: 'hello' });
    expect([r.status, r.json.error?.code]).toEqual([422, 'CONTACT_OPTED_OUT']);
    // Again, now that this instance knows the contact (the read path), and naming the sender.
    const again = await send({ to, body: 'hello', from: B });
    expect([again.status, again.json.error?.code]).toEqual([422, 'CONTACT_OPTED_OUT']);
    expect(await stored(to)).toEqual([]);
    expect(await contacts(to)).toBe(1);
    // The skipped guess left nothing behind: no segment to dispatch, no link.
    const orphans = await g.gw.db.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM segments WHERE to_e164 = $1',
      [to],
    );
    expect(orphans.rows[0]!.n).toBe('0');
  });

  it('a link in a message whose guess is wrong is not stored twice', async () => {
    const to = '+14155550809';
    await contactMadeElsewhere(to, { time_zone: 'UTC' });
    const r = await send({ to, body: 'see https://example.com/x', trackLinks: true });
    expect(r.status).toBe(202);
    const links = await g.gw.db.query<{ message_id: string }>(
      'SELECT l.message_id FROM links l JOIN messages m ON m.id = l.message_id WHERE m.to_e164 = $1',
      [to],
    );
    expect(links.rows.map((x) => x.message_id)).toEqual([r.json.id]);
    const all = await g.gw.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM links WHERE account_id = $1 AND url = 'https://example.com/x'`,
      [g.account.id],
    );
    expect(all.rows[0]!.n).toBe('1');
  });

  it('a contact assigned a number elsewhere gets it as the sender', async () => {
    const to = '+14155550803';
    await contactMadeElsewhere(to, { assigned_number: B });
    const r = await send({ to, body: 'hello' });
    expect([r.status, r.json.from]).toEqual([202, B]);
    expect((await stored(to)).map((x) => [x.from_e164, x.n])).toEqual([[B, '1']]);
  });

  it("the account's default number changed elsewhere: the new default sends", async () => {
    const to = '+14155550804';
    // Warm the cached default, then change it behind this instance's back.
    expect((await send({ to: '+14155550805', body: 'warm' })).json.from).toBe(g.account.number);
    await g.gw.db.query('UPDATE accounts SET default_number = $2 WHERE id = $1', [g.account.id, B]);
    try {
      const r = await send({ to, body: 'hello' });
      expect([r.status, r.json.from]).toEqual([202, B]);
      // A request naming its sender does not depend on the default: its guess still holds.
      const named = await send({ to: '+14155550806', body: 'named', from: g.account.number });
      expect([named.status, named.json.from]).toEqual([202, g.account.number]);
    } finally {
      await g.gw.db.query('UPDATE accounts SET default_number = $2 WHERE id = $1', [
        g.account.id,
        g.account.number,
      ]);
    }
  });

  it('many concurrent first sends to one new recipient: all stored, one contact', async () => {
    const to = '+14155550807';
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => send({ to, body: `n ${i}` })));
    expect(rs.map((r) => r.status)).toEqual(Array(20).fill(202));
    const ids = new Set(rs.map((r) => r.json.id));
    expect(ids.size).toBe(20);
    const rows = await stored(to);
    expect(rows).toHaveLength(20);
    expect(rows.every((r) => r.n === '1')).toBe(true);
    expect(await contacts(to)).toBe(1);
  });

  it('a contact made elsewhere between two sends of a batch of new recipients changes only that one', async () => {
    const tos = Array.from({ length: 10 }, (_, i) => `+1415555082${i}`);
    await contactMadeElsewhere(tos[3]!, { dnd: true, dnd_source: 'api', dnd_changed_at: new Date() });
    const rs = await Promise.all(tos.map((to) => send({ to, body: 'bulk' })));
    expect(rs.map((r) => r.status)).toEqual([202, 202, 202, 422, 202, 202, 202, 202, 202, 202]);
    for (const [i, to] of tos.entries()) {
      expect(await stored(to)).toHaveLength(i === 3 ? 0 : 1);
      expect(await contacts(to)).toBe(1);
    }
  });
});
