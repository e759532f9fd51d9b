import { afterEach, describe, expect, it } from 'vitest';
import { nextAllowed } from '../../src/compliance/quiet-hours.ts';
import { DEFAULT_COMPLIANCE } from '../../src/compliance/settings.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/smpp.ts';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const pad = (n: number) => String(n).padStart(2, '0');
/** A one-hour window that does not contain the current hour (UTC). */
function closedWindow(now = new Date()) {
  const h = (now.getUTCHours() + 2) % 22;
  return { start: `${pad(h)}:00`, end: `${pad(h + 1)}:00` };
}
const OPEN = { start: '00:00', end: '23:59' };

async function setup(quietHours: Record<string, unknown>) {
  t = await startTestGateway({ file: import.meta.filename });
  const g = t;
  const auth = { authorization: `Bearer ${g.account.apiKey}` };
  const put = await g.request(
    'PUT',
    '/v1/settings/messaging-compliance',
    { quietHours: { enabled: true, timeZone: 'UTC', ...quietHours } },
    auth,
  );
  expect(put.status).toBe(200);
  // The contact's own zone decides (the number's would depend on the hour the test runs).
  const c = await g.request('POST', '/v1/contacts', { number: '+14155550181', timeZone: 'UTC' }, auth);
  expect(c.status).toBe(201);
  return { g, auth, to: '+14155550181' };
}

const atSim = (g: TestGateway, to: string) =>
  g.sim.core
    .listMessages(1000)
    .filter((m) => m.to === to.slice(1))
    .map((m) => m.text as string);

describe('quiet hours in the recipient zone', () => {
  it('schedule a message for the window opening, or refuse it when asked (request or account)', async () => {
    const w = closedWindow();
    const { g, auth, to } = await setup(w);
    const before = new Date();
    const r = await g.request('POST', '/v1/messages', { to, body: 'at night' }, auth);
    expect(r.status).toBe(202);
    expect(r.json.status).toBe('scheduled');
    const row = await g.gw.db.query<{ send_at: Date; status: string }>(
      'SELECT send_at, status FROM messages WHERE id = $1',
      [r.json.id],
    );
    expect(row.rows[0]!.send_at.toISOString()).toBe(nextAllowed(['UTC'], w, before)!.toISOString());
    const refused = await g.request(
      'POST',
      '/v1/messages',
      { to, body: 'now or never', quietHours: 'reject' },
      auth,
    );
    expect(refused.status).toBe(422);
    expect(refused.json.error.code).toBe('QUIET_HOURS');
    await g.request('PUT', '/v1/settings/messaging-compliance', { quietHours: { mode: 'reject' } }, auth);
    const byAccount = await g.request('POST', '/v1/messages', { to, body: 'x' }, auth);
    expect(byAccount.json.error.code).toBe('QUIET_HOURS');
    const asked = await g.request('POST', '/v1/messages', { to, body: 'y', quietHours: 'schedule' }, auth);
    expect(asked.json.status).toBe('scheduled');
    // A recipient with no known zone and another zone: the account's zone (UTC here) decides too.
    const other = await g.request(
      'POST',
      '/v1/messages',
      { to: '+33612345678', body: 'z', quietHours: 'schedule' },
      auth,
    );
    expect(other.status).toBe(202);
    const bad = await g.request(
      'PUT',
      '/v1/settings/messaging-compliance',
      { quietHours: { start: '21:00', end: '08:00' } },
      auth,
    );
    expect(bad.json.error.code).toBe('VALIDATION_FAILED');
    const zone = await g.request(
      'PUT',
      '/v1/settings/messaging-compliance',
      { quietHours: { timeZone: 'Nowhere/City' } },
      auth,
    );
    expect(zone.json.error.code).toBe('VALIDATION_FAILED');
  });

  it('re-checks at dispatch: a message that became due inside quiet hours waits (reason quiet_hours)', async () => {
    const { g, auth, to } = await setup(OPEN);
    const sendAt = new Date(Date.now() + 1_500).toISOString();
    const r = await g.request('POST', '/v1/messages', { to, body: 'later', sendAt }, auth);
    expect(r.json.status).toBe('scheduled');
    await g.request('PUT', '/v1/settings/messaging-compliance', { quietHours: closedWindow() }, auth);
    let seg: { reason: string | null; next_attempt_at: Date } | undefined;
    await waitFor(
      () => seg?.reason === 'quiet_hours',
      10_000,
      'the segment deferred for quiet hours',
      async () => {
        seg = (
          await g.gw.db.query<{ reason: string | null; next_attempt_at: Date }>(
            'SELECT reason, next_attempt_at FROM segments WHERE message_id = $1',
            [r.json.id],
          )
        ).rows[0];
      },
    );
    expect(seg!.next_attempt_at.getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
    expect(atSim(g, to)).toEqual([]);
  });

  it('let compliance replies through: a STOP at night is confirmed at once', async () => {
    const { g, to } = await setup(closedWindow());
    g.sim.injectMo({ from: to, to: g.account.number, text: 'STOP' });
    await waitFor(
      () => atSim(g, to).includes(DEFAULT_COMPLIANCE.optOutReply),
      10_000,
      'the confirmation despite quiet hours',
    );
  });
});
