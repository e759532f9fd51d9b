import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/smpp.ts';

let g: TestGateway;
let auth: Record<string, string>;
beforeAll(async () => {
  g = await startTestGateway({ file: import.meta.filename });
  auth = { authorization: `Bearer ${g.account.apiKey}` };
});
afterAll(() => g?.stop());

const review = (c: Record<string, unknown>) =>
  fetch(`http://127.0.0.1:${g.sim.controlPort}/registry/config`, { method: 'POST', body: JSON.stringify(c) });

const acme = {
  entityType: 'PRIVATE_PROFIT',
  legalName: 'Acme Dental LLC',
  ein: '12-3456789',
  address: { street: '1 Main St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' },
  vertical: 'HEALTHCARE',
  website: 'https://acme-dental.example.com',
  email: 'ops@acme-dental.example.com',
  phone: '(512) 555-0100',
};

async function settled(id: string) {
  let b: Record<string, any> = {};
  await waitFor(
    () => b.status === 'approved' || b.status === 'rejected',
    10_000,
    'the review',
    async () => {
      b = (await g.request('GET', `/v1/brands/${id}`, undefined, auth)).json;
    },
  );
  return b;
}

describe('10DLC brands', () => {
  it('draft → submitted → approved with identity, vetting score and throughput class', async () => {
    await review({ outcome: 'approve', identityStatus: 'VETTED_VERIFIED', vettingScore: 82, delayMs: 100 });
    const c = await g.request('POST', '/v1/brands', acme, auth);
    expect(c.status).toBe(201);
    expect(c.json).toMatchObject({ status: 'draft', legalName: 'Acme Dental LLC', phone: '+15125550100' });
    const s = await g.request('POST', `/v1/brands/${c.json.id}/submit`, undefined, auth);
    expect(s.json).toMatchObject({ status: 'submitted', registryId: expect.stringMatching(/^B\d+$/) });
    expect((await g.request('POST', `/v1/brands/${c.json.id}/submit`, undefined, auth)).json.error.code).toBe(
      'BRAND_LOCKED',
    );
    expect((await g.request('PUT', `/v1/brands/${c.json.id}`, acme, auth)).status).toBe(409);
    const b = await settled(c.json.id);
    expect(b).toMatchObject({
      status: 'approved',
      identityStatus: 'VETTED_VERIFIED',
      vettingScore: 82,
      throughputClass: 'A',
    });
    expect((await g.request('PUT', `/v1/brands/${c.json.id}`, acme, auth)).json.error.code).toBe(
      'BRAND_LOCKED',
    );
  });

  it('rejected with the reason; edited back to draft and approved on a second review', async () => {
    await review({ outcome: 'reject', reason: 'EIN does not match the legal name', delayMs: 50 });
    const id = (await g.request('POST', '/v1/brands', { ...acme, legalName: 'Acme Two' }, auth)).json.id;
    await g.request('POST', `/v1/brands/${id}/submit`, undefined, auth);
    const rejected = await settled(id);
    expect(rejected).toMatchObject({
      status: 'rejected',
      rejectionReason: 'EIN does not match the legal name',
    });
    const edited = await g.request('PUT', `/v1/brands/${id}`, { ...acme, legalName: 'Acme Two Inc' }, auth);
    expect(edited.json).toMatchObject({ status: 'draft', rejectionReason: null, legalName: 'Acme Two Inc' });
    await review({ outcome: 'approve', identityStatus: 'VERIFIED', vettingScore: 0, delayMs: 50 });
    await g.request('POST', `/v1/brands/${id}/submit`, undefined, auth);
    expect(await settled(id)).toMatchObject({ status: 'approved', throughputClass: 'E' });
  });

  it('validates every field, naming it', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...acme, ein: undefined }, 'ein'],
      [{ ...acme, ein: '123456789' }, 'ein'],
      [{ ...acme, entityType: 'SOLE_PROPRIETOR' }, 'ein'],
      [{ ...acme, entityType: 'PUBLIC_PROFIT' }, 'stockSymbol'],
      [{ ...acme, stockSymbol: 'ACME', stockExchange: 'NASDAQ' }, 'stockSymbol'],
      [{ ...acme, address: { ...acme.address, postalCode: 'ABCDE' } }, 'postalCode'],
      [{ ...acme, address: { ...acme.address, state: 'Texas' } }, 'state'],
      [{ ...acme, vertical: 'CANDY' }, 'vertical'],
      [{ ...acme, entityType: 'LLC' }, 'entityType'],
      [{ ...acme, website: 'javascript:alert(1)' }, 'website'],
      [{ ...acme, email: 'not-an-email' }, 'email'],
      [{ ...acme, phone: 'call me' }, 'phone'],
      [{ ...acme, role: 'admin' }, 'role'],
    ];
    for (const [body, field] of cases) {
      const r = await g.request('POST', '/v1/brands', body, auth);
      expect(r.status, field).toBeGreaterThanOrEqual(400);
      expect(r.status, field).toBeLessThan(500);
      expect(JSON.stringify(r.json.error), field).toMatch(
        new RegExp(field === 'phone' ? 'phone|PHONE' : field),
      );
    }
    const sole = { ...acme, entityType: 'SOLE_PROPRIETOR', ein: undefined };
    expect((await g.request('POST', '/v1/brands', sole, auth)).status).toBe(201);
    const pub = { ...acme, entityType: 'PUBLIC_PROFIT', stockSymbol: 'ACME', stockExchange: 'NYSE' };
    expect((await g.request('POST', '/v1/brands', pub, auth)).status).toBe(201);
  });

  it("is scoped by account: another account's brand is 404", async () => {
    const id = (await g.request('POST', '/v1/brands', acme, auth)).json.id;
    const other = await g.createAccount('Other', '+15550107707');
    const theirs = { authorization: `Bearer ${other.apiKey}` };
    expect((await g.request('GET', `/v1/brands/${id}`, undefined, theirs)).status).toBe(404);
    expect((await g.request('POST', `/v1/brands/${id}/submit`, undefined, theirs)).status).toBe(404);
    expect((await g.request('PUT', `/v1/brands/${id}`, acme, theirs)).status).toBe(404);
    expect((await g.request('GET', '/v1/brands', undefined, theirs)).json.data).toEqual([]);
    expect((await g.request('GET', '/v1/brands')).status).toBe(401);
  });
});
