/**
 * The simulator as a number provider: an inventory of numbers for sale (local NANP numbers by area
 * code, toll-free, mobile, short codes) with region, locality and a monthly price; purchase at the
 * quoted price only; release. Deterministic for a seed. Imports only `node:` (and our own files).
 */
import { createRandom } from './prng.ts';

export type ProviderNumberType = 'local' | 'toll_free' | 'mobile' | 'short_code';

export interface AvailableNumber {
  number: string;
  type: ProviderNumberType;
  region: string | null;
  locality: string | null;
  areaCode: string | null;
  monthlyCost: string;
  currency: 'USD';
  capabilities: { sms: boolean; mms: boolean; voice: boolean };
}

export interface SearchQuery {
  type?: ProviderNumberType | undefined;
  areaCode?: string | undefined;
  region?: string | undefined;
  contains?: string | undefined;
  limit?: number | undefined;
}

// A sample of NANP area codes with their state and main locality (NANPA assignments).
const AREA_CODES: ReadonlyArray<[string, string, string]> = [
  ['205', 'AL', 'Birmingham'],
  ['212', 'NY', 'New York'],
  ['213', 'CA', 'Los Angeles'],
  ['305', 'FL', 'Miami'],
  ['312', 'IL', 'Chicago'],
  ['313', 'MI', 'Detroit'],
  ['404', 'GA', 'Atlanta'],
  ['405', 'OK', 'Oklahoma City'],
  ['410', 'MD', 'Baltimore'],
  ['415', 'CA', 'San Francisco'],
  ['502', 'KY', 'Louisville'],
  ['504', 'LA', 'New Orleans'],
  ['505', 'NM', 'Albuquerque'],
  ['512', 'TX', 'Austin'],
  ['601', 'MS', 'Jackson'],
  ['602', 'AZ', 'Phoenix'],
  ['612', 'MN', 'Minneapolis'],
  ['617', 'MA', 'Boston'],
  ['702', 'NV', 'Las Vegas'],
  ['713', 'TX', 'Houston'],
  ['720', 'CO', 'Denver'],
  ['786', 'FL', 'Miami'],
  ['860', 'CT', 'Hartford'],
  ['206', 'WA', 'Seattle'],
];
export const TOLL_FREE_PREFIXES = ['800', '833', '844', '855', '866', '877', '888'] as const;
const PRICES: Record<ProviderNumberType, number> = {
  local: 1.15,
  toll_free: 2.15,
  mobile: 1.5,
  short_code: 1000,
};

/** The inventory and what was bought from it. Every method validates its input and throws Error. */
export class NumberProvider {
  private readonly inventory = new Map<string, AvailableNumber>();
  private readonly owned = new Set<string>();
  /** Multiplies every price (the control API changes it to test a changed quote). */
  priceFactor = 1;

  constructor(seed = 1, perAreaCode = 40) {
    const r = createRandom(seed);
    const line = () => String(1000 + Math.floor(r() * 9000));
    const exchange = () => String(200 + Math.floor(r() * 800));
    const add = (n: Omit<AvailableNumber, 'monthlyCost' | 'currency' | 'capabilities'>) => {
      if (this.inventory.has(n.number)) return;
      const voice = n.type !== 'short_code';
      this.inventory.set(n.number, {
        ...n,
        monthlyCost: '',
        currency: 'USD',
        capabilities: { sms: true, mms: n.type !== 'short_code', voice },
      });
    };
    for (const [ac, region, locality] of AREA_CODES)
      for (let i = 0; i < perAreaCode; i++) {
        add({ number: `+1${ac}${exchange()}${line()}`, type: 'local', region, locality, areaCode: ac });
        if (i % 4 === 0)
          add({ number: `+1${ac}${exchange()}${line()}`, type: 'mobile', region, locality, areaCode: ac });
      }
    for (const p of TOLL_FREE_PREFIXES)
      for (let i = 0; i < perAreaCode; i++)
        add({
          number: `+1${p}${exchange()}${line()}`,
          type: 'toll_free',
          region: null,
          locality: null,
          areaCode: p,
        });
    for (let i = 0; i < 20; i++)
      add({
        number: String(20000 + Math.floor(r() * 79999)),
        type: 'short_code',
        region: null,
        locality: null,
        areaCode: null,
      });
  }

  private priced(n: AvailableNumber): AvailableNumber {
    return { ...n, monthlyCost: (PRICES[n.type] * this.priceFactor).toFixed(2) };
  }

  /** Numbers for sale matching every given criterion, in number order. */
  search(q: SearchQuery): AvailableNumber[] {
    if (q.areaCode !== undefined && !/^\d{3}$/.test(q.areaCode)) throw new Error('areaCode must be 3 digits');
    if (q.region !== undefined && !/^[A-Z]{2}$/.test(q.region))
      throw new Error('region must be 2 capital letters');
    if (q.contains !== undefined && !/^\d{1,10}$/.test(q.contains))
      throw new Error('contains must be 1..10 digits');
    const limit = q.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new Error('limit must be 1..100');
    const out: AvailableNumber[] = [];
    for (const n of [...this.inventory.values()].sort((a, b) => (a.number < b.number ? -1 : 1))) {
      if (this.owned.has(n.number)) continue;
      if (q.type && n.type !== q.type) continue;
      if (q.areaCode && n.areaCode !== q.areaCode) continue;
      if (q.region && n.region !== q.region) continue;
      if (q.contains && !n.number.replace(/^\+1/, '').includes(q.contains)) continue;
      out.push(this.priced(n));
      if (out.length === limit) break;
    }
    return out;
  }

  /**
   * Buys a number at the quoted monthly cost. `{ ok: false, reason }`: not for sale (`not_found`),
   * already sold (`unavailable`), or the price is not the quote (`price_changed`, with the price).
   */
  purchase(
    number: string,
    expectedMonthlyCost: string,
  ):
    | { ok: true; number: AvailableNumber }
    | { ok: false; reason: 'not_found' | 'unavailable' | 'price_changed'; monthlyCost?: string } {
    const n = this.inventory.get(number);
    if (!n) return { ok: false, reason: 'not_found' };
    if (this.owned.has(number)) return { ok: false, reason: 'unavailable' };
    const p = this.priced(n);
    if (p.monthlyCost !== expectedMonthlyCost)
      return { ok: false, reason: 'price_changed', monthlyCost: p.monthlyCost };
    this.owned.add(number);
    return { ok: true, number: p };
  }

  /** Returns a bought number to the inventory; false when it was not bought. */
  release(number: string): boolean {
    return this.owned.delete(number);
  }
}
