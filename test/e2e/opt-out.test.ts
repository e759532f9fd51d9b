import { afterEach, describe, expect, it } from 'vitest';
import { namedScenario } from '../../simulator/scenario.ts';
import { DEFAULT_COMPLIANCE } from '../../src/compliance/settings.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/smpp.ts';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const auth = (g: TestGateway) => ({ authorization: `Bearer ${g.account.apiKey}` });
const send = (g: TestGateway, to: string, body: string, extra: Record<string, unknown> = {}) =>
  g.request('POST', '/v1/messages', { to, body, ...extra }, auth(g));

async function contactState(g: TestGateway, accountId: string, e164: string) {
  const r = await g.gw.db.query<{ dnd: boolean; dnd_source: string | null }>(
    'SELECT dnd, dnd_source FROM contacts WHERE account_id = $1 AND e164 = $2',
    [accountId, e164],
  );
  return r.rows[0];
}

async function waitDnd(g: TestGateway, accountId: string, e164: string, dnd: boolean) {
  let state: Awaited<ReturnType<typeof contactState>>;
  await waitFor(
    () => state?.dnd === dnd,
    10_000,
    `contact ${e164} dnd=${dnd}`,
    async () => {
      state = await contactState(g, accountId, e164);
    },
  );
  return state!;
}

/** Texts the simulator received for `to`. */
const received = (g: TestGateway, to: string) =>
  g.sim.core
    .listMessages(10_000)
    .filter((m) => m.to === to.replace('+', ''))
    .map((m) => m.text as string);

describe('opt-out, opt-in and HELP from replies', () => {
  it('STOP blocks every number of the account (not other accounts), confirms once; START restores', async () => {
    t = await startTestGateway({ file: import.meta.filename });
    const g = t;
    const second = '+15550109876';
    await g.gw.accounts.addNumber(g.account.id, second, 'local');
    const other = await g.createAccount('Other', '+15550108765');
    const contact = '+14155550111';

    g.sim.injectMo({ from: contact, to: g.account.number, text: 'Stop!' });
    const s = await waitDnd(g, g.account.id, contact, true);
    expect(s.dnd_source).toBe('keyword');

    for (const from of [g.account.number, second]) {
      const r = await send(g, contact, 'promo', { from });
      expect(r.status).toBe(422);
      expect(r.json.error.code).toBe('CONTACT_OPTED_OUT');
    }
    // Another tenant texting the same handset is not affected.
    const theirs = await g.request(
      'POST',
      '/v1/messages',
      { to: contact, body: 'their own' },
      { authorization: `Bearer ${other.apiKey}` },
    );
    expect(theirs.status).toBe(202);

    await waitFor(
      () => received(g, contact).includes(DEFAULT_COMPLIANCE.optOutReply),
      10_000,
      'the opt-out confirmation at the SMSC',
    );
    // A second STOP (and the same MO handled twice) change nothing and confirm nothing.
    g.sim.injectMo({ from: contact, to: second, text: 'STOP' });
    await waitForHandled(g, 2);
    const log = await g.gw.db.query('SELECT action, source, keyword FROM consent_events');
    expect(log.rows).toEqual([{ action: 'opt_out', source: 'keyword', keyword: 'STOP' }]);

    g.sim.injectMo({ from: contact, to: second, text: 'start' });
    await waitDnd(g, g.account.id, contact, false);
    const ok = await send(g, contact, 'welcome back', { from: second });
    expect(ok.status).toBe(202);
    await g.waitFinal([ok.json.id]);
    await waitFor(
      () => received(g, contact).includes(DEFAULT_COMPLIANCE.optInReply),
      10_000,
      'the opt-in confirmation',
    );
    const texts = received(g, contact);
    expect(texts.filter((x) => x === DEFAULT_COMPLIANCE.optOutReply)).toHaveLength(1);
    expect(texts.filter((x) => x === DEFAULT_COMPLIANCE.optInReply)).toHaveLength(1);
    expect(texts).not.toContain('promo');
  });

  it('opts out on phrases, flags maybe-replies for review, answers HELP with the business name', async () => {
    t = await startTestGateway({ file: import.meta.filename });
    const g = t;
    await g.gw.contacts.putSettings(g.account.id, { ...DEFAULT_COMPLIANCE, businessName: 'Acme Dental' });
    g.sim.injectMo({ from: '+14155550121', to: g.account.number, text: 'please stop texting me' });
    g.sim.injectMo({ from: '+14155550122', to: g.account.number, text: 'who is this?' });
    g.sim.injectMo({ from: '+14155550123', to: g.account.number, text: 'HELP' });
    g.sim.injectMo({ from: '+14155550124', to: g.account.number, text: 'stop by tomorrow' });
    const s = await waitDnd(g, g.account.id, '+14155550121', true);
    expect(s.dnd_source).toBe('phrase');
    await waitForHandled(g, 4);
    const rows = await g.gw.db.query<{ from_e164: string; needs_review: boolean }>(
      'SELECT from_e164, needs_review FROM inbound_messages ORDER BY from_e164',
    );
    expect(rows.rows.map((r) => [r.from_e164, r.needs_review])).toEqual([
      ['+14155550121', false],
      ['+14155550122', true],
      ['+14155550123', false],
      ['+14155550124', false],
    ]);
    await waitFor(
      () => received(g, '+14155550123').some((x) => x.startsWith('Acme Dental:')),
      10_000,
      'the HELP answer',
    );
    // Every reply makes a contact (and a conversation); a look-alike leaves it opted in.
    expect(await contactState(g, g.account.id, '+14155550124')).toEqual({ dnd: false, dnd_source: null });
  });

  it('queued messages to a contact who opts out end failed (contact_opted_out) and never reach the SMSC', async () => {
    t = await startTestGateway({ file: import.meta.filename });
    const g = t;
    const contact = '+14155550131';
    // Far enough ahead for a loaded CI machine to commit the opt-out first (checked below).
    const sendAtMs = Date.now() + 8_000;
    const sendAt = new Date(sendAtMs).toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await send(g, contact, `later ${i}`, { sendAt });
      expect(r.status).toBe(202);
      ids.push(r.json.id);
    }
    g.sim.injectMo({ from: contact, to: g.account.number, text: 'UNSUBSCRIBE' });
    await waitDnd(g, g.account.id, contact, true);
    expect(Date.now(), 'the opt-out committed before the messages were due').toBeLessThan(sendAtMs);
    const final = await g.waitFinal(ids);
    for (const id of ids) expect(final.get(id).status).toBe('failed');
    const reasons = await g.gw.db.query('SELECT DISTINCT reason FROM messages WHERE id = ANY($1::uuid[])', [
      ids,
    ]);
    expect(reasons.rows).toEqual([{ reason: 'contact_opted_out' }]);
    expect(received(g, contact).filter((x) => x.startsWith('later'))).toEqual([]);
  });

  it('1,000 queued behind a slow carrier: no submit_sm to the contact after the opt-out commits', async () => {
    t = await startTestGateway({
      file: import.meta.filename,
      scenario: {
        ...namedScenario('default'),
        faults: { ...namedScenario('default').faults, responseDelayMinMs: 20, responseDelayMaxMs: 60 },
      },
      carrier: { windowSize: 5, queueTimeoutMs: 120_000 },
    });
    const g = t;
    const contact = '+14155550141';
    const items = Array.from({ length: 1000 }, (_, i) => ({ to: contact, body: `m${i}` }));
    const r = await g.request('POST', '/v1/messages/batch', { messages: items }, auth(g));
    expect(r.status).toBeLessThan(300);
    await waitFor(() => received(g, contact).length >= 50, 20_000, 'the run under way');
    g.sim.injectMo({ from: contact, to: g.account.number, text: 'STOP' });
    await waitDnd(g, g.account.id, contact, true);
    const committed = await g.gw.db.query<{ at: Date }>(
      'SELECT dnd_changed_at AS at FROM contacts WHERE account_id = $1 AND e164 = $2',
      [g.account.id, contact],
    );
    const ids = (
      await g.gw.db.query<{ id: string }>('SELECT id FROM messages WHERE to_e164 = $1', [contact])
    ).rows
      .map((x) => x.id)
      .filter((id) => id !== undefined);
    await g.waitFinal(ids, 60_000);
    const after = g.sim.core
      .listMessages(10_000)
      .filter(
        (m) => m.to === contact.slice(1) && Date.parse(m.at as string) > committed.rows[0]!.at.getTime(),
      )
      .map((m) => m.text);
    expect(after).toEqual([DEFAULT_COMPLIANCE.optOutReply]);
    const byStatus = await g.gw.db.query<{ status: string; reason: string | null; n: number }>(
      `SELECT status, reason, count(*)::int AS n FROM messages WHERE to_e164 = $1 AND body LIKE 'm%' GROUP BY 1, 2`,
      [contact],
    );
    const failed = byStatus.rows.find((x) => x.reason === 'contact_opted_out');
    expect(failed?.n ?? 0).toBeGreaterThan(0);
    console.log(`opt-out mid-run: ${JSON.stringify(byStatus.rows)}`);
  }, 120_000);
});

describe("a number's 10DLC campaign", () => {
  it('answers HELP and STOP with the replies it registered and honours its own keywords besides the standard ones', async () => {
    t = await startTestGateway({ file: import.meta.filename });
    const g = t;
    await g.gw.campaigns.registerDemo(g.account.id, g.account.number);
    await g.gw.db.query(
      `UPDATE campaigns SET details = details || '{"optOutKeywords": ["ARRET"], "helpKeywords": ["AIDE"]}'::jsonb`,
    );
    const contact = '+14155550131';
    g.sim.injectMo({ from: contact, to: g.account.number, text: 'aide' });
    await waitFor(
      () => received(g, contact).includes('Parley Demo: this is the embedded demo.'),
      10_000,
      "the campaign's HELP reply",
    );
    g.sim.injectMo({ from: contact, to: g.account.number, text: 'Arret' });
    await waitDnd(g, g.account.id, contact, true);
    await waitFor(
      () => received(g, contact).includes('Parley Demo: you are unsubscribed.'),
      10_000,
      "the campaign's opt-out reply",
    );
    // The account's own (default) replies were not sent in their place.
    expect(received(g, contact)).not.toContain(DEFAULT_COMPLIANCE.optOutReply);
    // STOP opts out from any number, whatever its campaign registered.
    const other = '+14155550132';
    g.sim.injectMo({ from: other, to: g.account.number, text: 'STOP' });
    await waitDnd(g, g.account.id, other, true);
    // Counted: 'aide' was not an opt-out, 'Arret' and STOP were.
    const m = await g.request('GET', '/metrics');
    expect(m.json).toMatch(/parley_consent_changes_total\{change="opt_out",source="keyword"\} 2\b/);

    // Campaign details the gateway did not write (another tool, a migration gone wrong): keywords
    // that are no strings, replies that are numbers, a details document that is no object. The
    // MO is answered with what is usable, else the account's replies; never a crash.
    const garbage = [
      '{"optOutKeywords": [1, null, "QUITTER", {"x": 1}], "helpReply": 5, "optOutReply": [""]}',
      'null',
      '"just a string"',
      '[1, 2, 3]',
    ];
    for (const [i, details] of garbage.entries()) {
      await g.gw.db.query('UPDATE campaigns SET details = $1::jsonb', [details]);
      const who = `+1415555014${i}`;
      g.sim.injectMo({ from: who, to: g.account.number, text: 'HELP' });
      await waitFor(() => received(g, who).length > 0, 10_000, `HELP answered with details ${details}`);
      expect(received(g, who)[0]).toContain('reply STOP');
      if (i === 0) {
        g.sim.injectMo({ from: who, to: g.account.number, text: 'quitter' });
        await waitDnd(g, g.account.id, who, true);
        await waitFor(
          () => received(g, who).includes(DEFAULT_COMPLIANCE.optOutReply),
          10_000,
          "the account's opt-out reply (the campaign's was no text)",
        );
      }
    }
  });
});

describe('exactly one confirmation', () => {
  it('when STOP arrives many times at once on two instances (and when one MO is handled twice)', async () => {
    t = await startTestGateway({ file: import.meta.filename, redis: true });
    const g = t;
    const g2 = await startTestGateway({
      file: import.meta.filename,
      redis: true,
      shared: { schema: g.schema, sim: g.sim },
      noAccount: true,
    });
    try {
      const contact = '+14155550151';
      const stops = Array.from({ length: 20 }, (_, i) => ({
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        gw: i % 2 === 0 ? g.gw : g2.gw,
      }));
      // The same MO twice, and twenty MOs: all at once.
      const results = await Promise.all(
        [...stops, stops[0]!].map(async ({ id, gw }) =>
          gw.compliance.change(
            {
              accountId: g.account.id,
              contact,
              action: 'opt_out',
              source: 'keyword',
              keyword: 'STOP',
              rawText: 'STOP',
              number: g.account.number,
              inboundMessageId: id,
            },
            await gw.accept.composeReply(g.account.id, g.account.number, contact, 'confirmed'),
          ),
        ),
      );
      expect(results.filter((r) => r.changed)).toHaveLength(1);
      const replies = await g.gw.db.query('SELECT count(*)::int AS n FROM compliance_replies');
      expect(replies.rows[0]).toEqual({ n: 1 });
      const events = await g.gw.db.query('SELECT count(*)::int AS n FROM consent_events');
      expect(events.rows[0]).toEqual({ n: 1 });
      await waitFor(() => received(g, contact).length === 1, 10_000, 'one confirmation at the SMSC');
      // The other instance refuses too (the database decides; its gate came through Redis).
      const r = await g2.gw.http.inject({
        method: 'POST',
        url: '/v1/messages',
        payload: { to: contact, body: 'x' },
        headers: { authorization: `Bearer ${g.account.apiKey}`, 'content-type': 'application/json' },
      });
      expect(r.statusCode).toBe(422);
    } finally {
      await g2.stop();
    }
  });
});

async function waitForHandled(g: TestGateway, n: number): Promise<void> {
  let handled = 0;
  await waitFor(
    () => handled >= n,
    10_000,
    `${n} inbound messages handled`,
    async () => {
      handled = Number(
        (
          await g.gw.db.query<{ n: string }>(
            'SELECT count(*) AS n FROM inbound_messages WHERE handled_at IS NOT NULL',
          )
        ).rows[0]!.n,
      );
    },
  );
  await g.gw.compliance.idle();
}
