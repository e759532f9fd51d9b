import { describe, expect, it } from 'vitest';
import { type BrandDetails, brandProblems, throughputClass } from '../../src/numbers/brands.ts';

const base: BrandDetails = {
  entityType: 'PRIVATE_PROFIT',
  legalName: 'X',
  ein: '12-3456789',
  address: { street: 's', city: 'c', state: 'TX', postalCode: '78701', country: 'US' },
  vertical: 'RETAIL',
  email: 'a@b.co',
  phone: '+15125550100',
};
const fields = (b: BrandDetails) => brandProblems(b).map((p) => p.field);

describe('brand rules', () => {
  it('EIN: required and NN-NNNNNNN except for sole proprietors, who have none', () => {
    expect(fields(base)).toEqual([]);
    expect(fields({ ...base, ein: undefined })).toEqual(['ein']);
    expect(fields({ ...base, ein: '12-345678' })).toEqual(['ein']);
    expect(fields({ ...base, entityType: 'SOLE_PROPRIETOR' })).toEqual(['ein']);
    expect(fields({ ...base, entityType: 'SOLE_PROPRIETOR', ein: undefined })).toEqual([]);
  });
  it('stock symbol and exchange for public companies only; US ZIP; http(s) website', () => {
    expect(fields({ ...base, entityType: 'PUBLIC_PROFIT' })).toEqual(['stockSymbol', 'stockExchange']);
    expect(fields({ ...base, entityType: 'PUBLIC_PROFIT', stockSymbol: 'A', stockExchange: 'NYSE' })).toEqual(
      [],
    );
    expect(fields({ ...base, stockExchange: 'NYSE' })).toEqual(['stockExchange']);
    expect(fields({ ...base, address: { ...base.address, postalCode: '7870' } })).toEqual([
      'address.postalCode',
    ]);
    expect(fields({ ...base, address: { ...base.address, postalCode: '78701-1234' } })).toEqual([]);
    expect(fields({ ...base, address: { ...base.address, country: 'CA', postalCode: 'K1A 0B1' } })).toEqual(
      [],
    );
    expect(fields({ ...base, website: 'ftp://a.com' })).toEqual(['website']);
    expect(fields({ ...base, website: 'https://localhost' })).toEqual(['website']);
    expect(fields({ ...base, website: 'https://a.com/x' })).toEqual([]);
  });
  it('throughput class by identity and vetting score', () => {
    expect(throughputClass('SOLE_PROPRIETOR', 'VETTED_VERIFIED', 99)).toBe('SOLE_PROPRIETOR');
    expect(throughputClass('PRIVATE_PROFIT', 'VETTED_VERIFIED', 75)).toBe('A');
    expect(throughputClass('PRIVATE_PROFIT', 'VETTED_VERIFIED', 74)).toBe('C');
    expect(throughputClass('PRIVATE_PROFIT', 'VETTED_VERIFIED', 50)).toBe('C');
    expect(throughputClass('PRIVATE_PROFIT', 'VETTED_VERIFIED', 49)).toBe('E');
    expect(throughputClass('PRIVATE_PROFIT', 'VETTED_VERIFIED', null)).toBe('E');
    expect(throughputClass('PRIVATE_PROFIT', 'VERIFIED', 90)).toBe('E');
    expect(throughputClass('PRIVATE_PROFIT', 'SELF_DECLARED', 90)).toBe('LOW_VOLUME');
    expect(throughputClass('PRIVATE_PROFIT', null, null)).toBe('LOW_VOLUME');
  });
});
