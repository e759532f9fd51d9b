import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/smpp.ts';

let g: TestGateway;
let auth: Record<string, string>;
let brandId: string;
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

const campaign = () => ({
  brandId,
  useCase: 'CUSTOMER_CARE',
  description: 'Appointment reminders and replies to patients who booked with Acme Dental online.',
  sampleMessages: [
    'Acme Dental: your cleaning is tomorrow at 9:00. Reply C to confirm.',
    'Acme Dental: thanks, see you soon! Reply STOP to opt out.',
  ],
  messageFlow: 'Patients tick an unchecked SMS consent box when booking at acme-dental.example.com/book.',
  optInKeywords: ['START'],
  optOutKeywords: ['STOP', 'QUIT'],
  helpKeywords: ['HELP'],
  optInReply: 'Acme Dental: you are subscribed to reminders. Reply STOP to stop.',
  optOutReply: 'Acme Dental: you are unsubscribed and will get no more messages.',
  helpReply: 'Acme Dental: reminders about your visits. Call 512-555-0100 for help.',
  embeddedLinks: false,
  embeddedPhone: false,
  ageGated: false,
});

beforeAll(async () => {
  g = await startTestGateway({ file: import.meta.filename });
  auth = { authorization: `Bearer ${g.account.apiKey}` };
  await control('/registry/config', {
    outcome: 'approve',
    delayMs: 50,
    identityStatus: 'VERIFIED',
    vettingScore: 60,
  });
  const b = await g.request(
    'POST',
    '/v1/brands',
    {
      entityType: 'PRIVATE_PROFIT',
      legalName: 'Acme Dental LLC',
      ein: '12-3456789',
      address: { street: '1 Main St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' },
      vertical: 'HEALTHCARE',
      email: 'ops@acme-dental.example.com',
      phone: '+15125550100',
    },
    auth,
  );
  brandId = b.json.id;
});
afterAll(() => g?.stop());

describe('10DLC campaigns and number assignment', () => {
  it('needs an approved brand; validates across fields; submits, is approved; numbers are assigned to it', async () => {
    const early = await g.request('POST', '/v1/campaigns', campaign(), auth);
    expect([early.status, early.json.error.code]).toEqual([422, 'BRAND_NOT_APPROVED']);
    await g.request('POST', `/v1/brands/${brandId}/submit`, undefined, auth);
    await until(`/v1/brands/${brandId}`, (b) => b.status === 'approved', 'brand approved');

    const bad: Array<[Record<string, unknown>, string]> = [
      [{ sampleMessages: ['only one sample message here, nothing more'] }, 'sampleMessages'],
      [{ optOutKeywords: ['QUIT'] }, 'optOutKeywords'],
      [{ helpKeywords: ['INFO'] }, 'helpKeywords'],
      [
        { sampleMessages: ['Book at https://acme.example.com now please', 'Another sample message here'] },
        'embeddedLinks',
      ],
      [
        { sampleMessages: ['Call us at (512) 555-0100 to book today', 'Another sample message here'] },
        'embeddedPhone',
      ],
      [{ useCase: 'SOLE_PROPRIETOR' }, 'useCase'],
      [{ useCase: 'CANDY' }, 'useCase'],
      [{ description: 'too short' }, 'description'],
      [{ brandId: '00000000-0000-4000-8000-000000000000' }, 'BRAND_NOT_FOUND'],
    ];
    for (const [patch, named] of bad) {
      const r = await g.request('POST', '/v1/campaigns', { ...campaign(), ...patch }, auth);
      expect(r.status, named).toBeGreaterThanOrEqual(400);
      expect(r.status, named).toBeLessThan(500);
      expect(JSON.stringify(r.json.error), named).toContain(named);
    }

    const c = await g.request('POST', '/v1/campaigns', campaign(), auth);
    expect(c.json).toMatchObject({ status: 'draft', useCase: 'CUSTOMER_CARE', brandId });
    const [n] = (await g.request('GET', '/v1/numbers', undefined, auth)).json.data;
    const tooEarly = await g.request('PUT', `/v1/numbers/${n.id}/campaign`, { campaignId: c.json.id }, auth);
    expect([tooEarly.status, tooEarly.json.error.code]).toEqual([422, 'CAMPAIGN_NOT_APPROVED']);
    await g.request('POST', `/v1/campaigns/${c.json.id}/submit`, undefined, auth);
    const approved = await until(
      `/v1/campaigns/${c.json.id}`,
      (x) => x.status === 'approved',
      'campaign approved',
    );
    expect(approved.registryId).toMatch(/^C\d+$/);
    expect((await g.request('PUT', `/v1/campaigns/${c.json.id}`, campaign(), auth)).json.error.code).toBe(
      'CAMPAIGN_LOCKED',
    );
    // The registry reviews the assignment: pending until it answers, then assigned.
    const assigned = await g.request('PUT', `/v1/numbers/${n.id}/campaign`, { campaignId: c.json.id }, auth);
    expect(assigned.json).toEqual({ numberId: n.id, campaignId: c.json.id, status: 'pending_assignment' });
    const settled = await until(
      `/v1/numbers/${n.id}`,
      (x) => x.campaign.status !== 'pending_assignment',
      'assigned',
    );
    expect(settled.campaign).toEqual({ id: c.json.id, status: 'assigned', reason: null });

    // A carrier suspends it: the gateway records it.
    await control(`/registry/campaigns/${approved.registryId}/suspend`);
    const suspended = await until(`/v1/campaigns/${c.json.id}`, (x) => x.status === 'suspended', 'suspended');
    expect(suspended.rejectionReason).toBe('suspended by a carrier');

    // Scoped by account.
    const other = await g.createAccount('Other', '+15550107708');
    const theirs = { authorization: `Bearer ${other.apiKey}` };
    expect((await g.request('GET', `/v1/campaigns/${c.json.id}`, undefined, theirs)).status).toBe(404);
    expect((await g.request('POST', '/v1/campaigns', campaign(), theirs)).json.error.code).toBe(
      'BRAND_NOT_FOUND',
    );
    const [theirNumber] = (await g.request('GET', '/v1/numbers', undefined, theirs)).json.data;
    expect(
      (await g.request('PUT', `/v1/numbers/${theirNumber.id}/campaign`, { campaignId: c.json.id }, theirs))
        .json.error.code,
    ).toBe('CAMPAIGN_NOT_APPROVED');
  });

  it('a number assignment the registry refuses ends failed_assignment with its reason; reassigning retries', async () => {
    const c = await g.request('POST', '/v1/campaigns', campaign(), auth);
    await g.request('POST', `/v1/campaigns/${c.json.id}/submit`, undefined, auth);
    await until(`/v1/campaigns/${c.json.id}`, (x) => x.status === 'approved', 'campaign approved');
    const [n] = (await g.request('GET', '/v1/numbers', undefined, auth)).json.data;
    await control('/registry/config', {
      outcome: 'reject',
      reason: 'number is provisioned elsewhere',
      delayMs: 20,
    });
    const put = await g.request('PUT', `/v1/numbers/${n.id}/campaign`, { campaignId: c.json.id }, auth);
    expect(put.json.status).toBe('pending_assignment');
    const failed = await until(
      `/v1/numbers/${n.id}`,
      (x) => x.campaign.status !== 'pending_assignment',
      'failed',
    );
    expect(failed.campaign).toEqual({
      id: c.json.id,
      status: 'failed_assignment',
      reason: 'number is provisioned elsewhere',
    });
    await control('/registry/config', { outcome: 'approve', delayMs: 20 });
    await g.request('PUT', `/v1/numbers/${n.id}/campaign`, { campaignId: c.json.id }, auth);
    const ok = await until(
      `/v1/numbers/${n.id}`,
      (x) => x.campaign.status !== 'pending_assignment',
      'assigned',
    );
    expect(ok.campaign).toEqual({ id: c.json.id, status: 'assigned', reason: null });
    // Unassigning is at once.
    const off = await g.request('PUT', `/v1/numbers/${n.id}/campaign`, { campaignId: null }, auth);
    expect(off.json.status).toBeNull();
    expect((await g.request('GET', `/v1/numbers/${n.id}`, undefined, auth)).json.campaign).toEqual({
      id: null,
      status: null,
      reason: null,
    });
  });

  it('a rejected campaign carries the reason and can be edited and resubmitted', async () => {
    await control('/registry/config', {
      outcome: 'reject',
      reason: 'sample messages do not match the use case',
      delayMs: 20,
    });
    const c = await g.request('POST', '/v1/campaigns', campaign(), auth);
    await g.request('POST', `/v1/campaigns/${c.json.id}/submit`, undefined, auth);
    const rejected = await until(`/v1/campaigns/${c.json.id}`, (x) => x.status === 'rejected', 'rejected');
    expect(rejected.rejectionReason).toBe('sample messages do not match the use case');
    const edited = await g.request(
      'PUT',
      `/v1/campaigns/${c.json.id}`,
      { ...campaign(), useCase: 'MIXED' },
      auth,
    );
    expect(edited.json).toMatchObject({ status: 'draft', useCase: 'MIXED', rejectionReason: null });
    await control('/registry/config', { outcome: 'approve', delayMs: 20 });
  });
});
