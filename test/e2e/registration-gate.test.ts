import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/smpp.ts';

let g: TestGateway;
let auth: Record<string, string>;
const control = (p: string, body: unknown = {}) =>
  fetch(`http://127.0.0.1:${g.sim.controlPort}${p}`, { method: 'POST', body: JSON.stringify(body) });

async function until(path: string, pred: (x: Record<string, any>) => boolean, what: string) {
  let x: Record<string, any> = {};
  await waitFor(
    () => pred(x),
    10_000,
    what,
    async () => {
      x = (await g.request('GET', path, undefined, auth)).json;
    },
  );
  return x;
}

beforeAll(async () => {
  g = await startTestGateway({ file: import.meta.filename, env: { PARLEY_REGISTRATION_GATE: 'on' } });
  auth = { authorization: `Bearer ${g.account.apiKey}` };
  await control('/registry/config', {
    outcome: 'approve',
    delayMs: 20,
    identityStatus: 'VERIFIED',
    vettingScore: 60,
  });
});
afterAll(() => g?.stop());

const send = (from: string, extra: Record<string, unknown> = {}) =>
  g.request('POST', '/v1/messages', { to: '+14155550701', body: 'gate test', from, ...extra }, auth);

describe('the registration gate', () => {
  it('refuses unregistered local and unverified toll-free numbers; lets them send once registered', async () => {
    const local = await send(g.account.number);
    expect([local.status, local.json.error.code]).toEqual([422, 'NUMBER_NOT_REGISTERED']);
    const [tf] = (await g.request('GET', '/v1/available-numbers?type=toll_free&limit=1', undefined, auth))
      .json.data;
    const tfId = (
      await g.request('POST', '/v1/numbers', { number: tf.number, confirmMonthlyCost: tf.monthlyCost }, auth)
    ).json.id;
    const unverified = await send(tf.number);
    expect([unverified.status, unverified.json.error.code]).toEqual([422, 'TOLL_FREE_NOT_VERIFIED']);
    // A batch: each item refused on its own.
    const batch = await g.request(
      'POST',
      '/v1/messages/batch',
      { messages: [{ to: '+14155550702', body: 'x', from: tf.number }] },
      auth,
    );
    expect(batch.json.results[0].error.code).toBe('TOLL_FREE_NOT_VERIFIED');

    // Register the local number: brand → campaign → assignment.
    const brand = await g.request(
      'POST',
      '/v1/brands',
      {
        entityType: 'PRIVATE_PROFIT',
        legalName: 'Gate Test LLC',
        ein: '12-3456789',
        address: { street: '1 Main St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' },
        vertical: 'RETAIL',
        email: 'ops@gate.example.com',
        phone: '+15125550100',
      },
      auth,
    );
    await g.request('POST', `/v1/brands/${brand.json.id}/submit`, undefined, auth);
    await until(`/v1/brands/${brand.json.id}`, (b) => b.status === 'approved', 'brand approved');
    const campaign = await g.request(
      'POST',
      '/v1/campaigns',
      {
        brandId: brand.json.id,
        useCase: 'ACCOUNT_NOTIFICATION',
        description: 'Order and account notifications to customers of Gate Test LLC who opted in.',
        sampleMessages: [
          'Gate Test: your order 1234 has shipped.',
          'Gate Test: reply STOP to opt out of updates.',
        ],
        messageFlow: 'Customers opt in by ticking an unchecked SMS box at checkout on our web shop.',
        optInKeywords: ['START'],
        optOutKeywords: ['STOP'],
        helpKeywords: ['HELP'],
        optInReply: 'Gate Test: subscribed to order updates. Reply STOP to stop.',
        optOutReply: 'Gate Test: you are unsubscribed from order updates.',
        helpReply: 'Gate Test: order updates. Email help@gate.example.com.',
        embeddedLinks: false,
        embeddedPhone: false,
        ageGated: false,
      },
      auth,
    );
    await g.request('POST', `/v1/campaigns/${campaign.json.id}/submit`, undefined, auth);
    const approved = await until(
      `/v1/campaigns/${campaign.json.id}`,
      (c) => c.status === 'approved',
      'campaign approved',
    );
    const [localNumber] = (await g.request('GET', '/v1/numbers', undefined, auth)).json.data;
    await g.request('PUT', `/v1/numbers/${localNumber.id}/campaign`, { campaignId: campaign.json.id }, auth);
    // Pending the registry's review of the assignment, the number still does not send.
    const pending = await send(g.account.number);
    expect([pending.status, pending.json.error?.code]).toEqual([422, 'NUMBER_NOT_REGISTERED']);
    await until(`/v1/numbers/${localNumber.id}`, (n) => n.campaign.status === 'assigned', 'assigned');
    let ok = pending;
    await waitFor(
      () => ok.status === 202,
      10_000,
      'local number accepted once assigned (numbers cache)',
      async () => {
        ok = await send(g.account.number);
      },
    );
    expect((await g.waitFinal([ok.json.id])).get(ok.json.id).status).toBe('delivered');

    // The number moves campaigns (here: assigned again) while a message of it waits: the message
    // is held while the registry reviews the move, not failed, and goes once the number is assigned.
    // (Due after the dispatch gate's 2-s answers have gone, during the 6-s review.)
    const moving = await send(g.account.number, {
      body: 'gate move',
      sendAt: new Date(Date.now() + 3_000).toISOString(),
    });
    expect(moving.status).toBe(202);
    await control('/registry/config', { outcome: 'approve', delayMs: 6_000 });
    await g.request('PUT', `/v1/numbers/${localNumber.id}/campaign`, { campaignId: campaign.json.id }, auth);
    // The API shows the part waiting, why, and when it is looked at again.
    const held = await until(
      `/v1/messages/${moving.json.id}`,
      (m) => m.parts[0]?.reason === 'registration_pending',
      'held while the assignment is reviewed',
    );
    expect(held.parts[0].status).toBe('queued');
    expect(Date.parse(held.parts[0].nextAttemptAt)).toBeGreaterThan(Date.now() - 5_000);
    expect(g.sim.core.listMessages(10_000).filter((m) => m.text === 'gate move')).toEqual([]);
    await until(`/v1/numbers/${localNumber.id}`, (n) => n.campaign.status === 'assigned', 'assigned again');
    expect((await g.waitFinal([moving.json.id])).get(moving.json.id).status).toBe('delivered');
    await control('/registry/config', { outcome: 'approve', delayMs: 20 });

    // Verify the toll-free number: it sends too.
    await g.request(
      'PUT',
      `/v1/numbers/${tfId}/toll-free-verification`,
      {
        businessName: 'Gate Test',
        businessAddress: {
          street: '1 Main St',
          city: 'Austin',
          state: 'TX',
          postalCode: '78701',
          country: 'US',
        },
        businessWebsite: 'https://gate.example.com',
        contact: { name: 'Ops', email: 'ops@gate.example.com', phone: '+15125550100' },
        useCase: 'ACCOUNT_NOTIFICATION',
        useCaseDescription: 'Order and account notifications to customers who opted in at checkout.',
        estimatedMonthlyVolume: 1_000,
        sampleMessages: ['Gate Test: your order 1234 has shipped.'],
        optInType: 'WEB_FORM',
        optInEvidenceUrl: 'https://gate.example.com/consent.png',
      },
      auth,
    );
    await until(`/v1/numbers/${tfId}/toll-free-verification`, (v) => v.status === 'verified', 'verified');
    let tfOk = 0;
    await waitFor(
      () => tfOk === 202,
      10_000,
      'toll-free number accepted (numbers cache)',
      async () => {
        tfOk = (await send(tf.number)).status;
      },
    );

    // Suspended while messages wait: they end failed (number_not_registered), never submitted.
    const waiting = await send(g.account.number, { sendAt: new Date(Date.now() + 2_000).toISOString() });
    expect(waiting.status).toBe(202);
    await control(`/registry/campaigns/${approved.registryId}/suspend`);
    await until(`/v1/campaigns/${campaign.json.id}`, (c) => c.status === 'suspended', 'suspended');
    const final = (await g.waitFinal([waiting.json.id])).get(waiting.json.id);
    expect(final.status).toBe('failed');
    const m = await g.request('GET', `/v1/messages/${waiting.json.id}`, undefined, auth);
    expect(m.json.reason).toBe('number_not_registered');
    expect(
      g.sim.core
        .listMessages(1000)
        .filter((x) => x.text === 'gate test' && x.from === g.account.number.slice(1)),
    ).toHaveLength(1);
  });
});
