import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/smpp.ts';

let g: TestGateway;
let auth: Record<string, string>;
let tfId: string;
const control = (p: string, body: unknown = {}) =>
  fetch(`http://127.0.0.1:${g.sim.controlPort}${p}`, { method: 'POST', body: JSON.stringify(body) });
const request = () => ({
  businessName: 'Acme Dental',
  businessAddress: { street: '1 Main St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' },
  businessWebsite: 'https://acme-dental.example.com',
  contact: { name: 'Ann Ops', email: 'ops@acme-dental.example.com', phone: '512 555 0100' },
  useCase: 'CUSTOMER_CARE',
  useCaseDescription: 'Appointment reminders and replies to patients who booked online with us.',
  estimatedMonthlyVolume: 10_000,
  sampleMessages: ['Acme Dental: your cleaning is tomorrow at 9:00. Reply STOP to opt out.'],
  optInType: 'WEB_FORM',
  optInEvidenceUrl: 'https://acme-dental.example.com/sms-consent.png',
});

beforeAll(async () => {
  g = await startTestGateway({ file: import.meta.filename });
  auth = { authorization: `Bearer ${g.account.apiKey}` };
  await control('/registry/config', {
    outcome: 'reject',
    reason: 'opt-in evidence not reachable',
    delayMs: 30,
  });
  const [n] = (await g.request('GET', '/v1/available-numbers?type=toll_free&limit=1', undefined, auth)).json
    .data;
  tfId = (
    await g.request('POST', '/v1/numbers', { number: n.number, confirmMonthlyCost: n.monthlyCost }, auth)
  ).json.id;
});
afterAll(() => g?.stop());

async function settled() {
  let v: Record<string, any> = {};
  await waitFor(
    () => v.status === 'verified' || v.status === 'rejected',
    10_000,
    'the review',
    async () => {
      v = (await g.request('GET', `/v1/numbers/${tfId}/toll-free-verification`, undefined, auth)).json;
    },
  );
  return v;
}

describe('toll-free verification', () => {
  it('pending → in_review → rejected(reason); asked again → verified; locked while in review or verified', async () => {
    const first = await g.request('PUT', `/v1/numbers/${tfId}/toll-free-verification`, request(), auth);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ status: 'in_review', registryId: expect.stringMatching(/^V\d+$/) });
    expect(first.json.contact.phone).toBe('+15125550100');
    expect(
      (await g.request('PUT', `/v1/numbers/${tfId}/toll-free-verification`, request(), auth)).json.error.code,
    ).toBe('VERIFICATION_LOCKED');
    expect(await settled()).toMatchObject({
      status: 'rejected',
      rejectionReason: 'opt-in evidence not reachable',
    });
    await control('/registry/config', { outcome: 'approve', delayMs: 30 });
    await g.request('PUT', `/v1/numbers/${tfId}/toll-free-verification`, request(), auth);
    expect(await settled()).toMatchObject({ status: 'verified', rejectionReason: null });
    expect(
      (await g.request('PUT', `/v1/numbers/${tfId}/toll-free-verification`, request(), auth)).status,
    ).toBe(409);
  });

  it('only for toll-free numbers of the account; every field checked', async () => {
    const [local] = (await g.request('GET', '/v1/numbers', undefined, auth)).json.data;
    const notTf = await g.request('PUT', `/v1/numbers/${local.id}/toll-free-verification`, request(), auth);
    expect([notTf.status, notTf.json.error.code]).toEqual([422, 'NOT_TOLL_FREE']);
    const other = await g.createAccount('Other', '+15550107709');
    const theirs = { authorization: `Bearer ${other.apiKey}` };
    expect(
      (await g.request('PUT', `/v1/numbers/${tfId}/toll-free-verification`, request(), theirs)).status,
    ).toBe(422);
    expect(
      (await g.request('GET', `/v1/numbers/${tfId}/toll-free-verification`, undefined, theirs)).status,
    ).toBe(404);
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ optInEvidenceUrl: 'http://acme.example.com/x.png' }, 'optInEvidenceUrl'],
      [{ businessWebsite: 'acme' }, 'businessWebsite'],
      [{ estimatedMonthlyVolume: 12_345 }, 'estimatedMonthlyVolume'],
      [{ optInType: 'CARRIER_PIGEON' }, 'optInType'],
      [{ sampleMessages: ['Your code is 123456, valid 10 min.'] }, 'sampleMessages'],
      [{ useCaseDescription: 'short' }, 'useCaseDescription'],
      [{ contact: { name: 'A', email: 'x', phone: '1' } }, 'email'],
      [
        { businessAddress: { street: 's', city: 'c', state: 'TX', postalCode: 'ABCDE', country: 'US' } },
        'postalCode',
      ],
    ];
    for (const [patch, named] of bad) {
      const r = await g.request(
        'PUT',
        `/v1/numbers/${tfId}/toll-free-verification`,
        { ...request(), ...patch },
        auth,
      );
      expect(r.status, named).toBe(400);
      expect(JSON.stringify(r.json.error), named).toContain(named);
    }
  });
});
