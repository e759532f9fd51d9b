/**
 * The sending numbers of `npm run bench:limits` and the limits that bind them: 300 toll-free,
 * 50 short codes, 100 mobile and 140 local numbers without a campaign, each limited alone; 3 × A,
 * 5 × C and 10 × E campaigns, 20 LOW_VOLUME campaigns under one brand with a daily cap, 50 sole
 * proprietors. `scale` multiplies every rate.
 */

export interface Group {
  name: string;
  /** A daily cap stops it within the window: judged by the cap, not by its rate. */
  capped?: boolean;
  /** Limit per key, segments per second. */
  rate: number;
  keys: Array<{ key: string; numbers: string[] }>;
}

/** The 1,000 numbers and the limits that bind them, rates multiplied by `scale`. */
export function limitsPlan(scale: number): {
  groups: Group[];
  rows: string[][];
  campaigns: string[][];
  brands: string[][];
  capBrand: string;
} {
  const groups: Group[] = [];
  const rows: string[][] = []; // e164, type, rate override, campaign id
  const campaigns: string[][] = []; // id, brand id, use case
  const brands: string[][] = []; // id, class
  let seq = 0;
  const uuid = () => `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;
  const perNumber = (
    name: string,
    n: number,
    type: string,
    prefix: string,
    planned: number,
    planOverride: boolean,
  ) => {
    const rate = planned * scale;
    const override = planOverride || scale !== 1;
    const keys = Array.from({ length: n }, (_, i) => {
      const e164 = type === 'short_code' ? String(50000 + i) : `${prefix}${String(i).padStart(4, '0')}`;
      rows.push([e164, type, override ? String(rate) : '', '']);
      return { key: e164, numbers: [e164] };
    });
    groups.push({ name, rate, keys });
  };
  perNumber('toll-free 1/s', 300, 'toll_free', '+1800555', 1, true);
  perNumber('short code 4/s', 50, 'short_code', '', 4, true);
  perNumber('mobile 1/s', 100, 'mobile', '+1737555', 1, false);
  perNumber('local, no campaign, 0.5/s', 140, 'local', '+1512555', 0.5, true);
  let local = 0;
  const perCampaign = (
    name: string,
    cls: string,
    useCase: string,
    n: number,
    per: number,
    planned: number,
    brandOf?: string,
  ) => {
    const rate = planned * scale;
    const keys = Array.from({ length: n }, () => {
      const brand = brandOf ?? uuid();
      if (!brandOf) brands.push([brand, cls]);
      const id = uuid();
      campaigns.push([id, brand, useCase]);
      const numbers = Array.from({ length: per }, () => {
        const e164 = `+1512556${String(local++).padStart(4, '0')}`;
        rows.push([e164, 'local', '', id]);
        return e164;
      });
      return { key: id, numbers };
    });
    groups.push({ name, rate, keys, ...(brandOf ? { capped: true } : {}) });
  };
  perCampaign('campaign class A 4,500/min', 'A', 'MARKETING', 3, 20, 75);
  perCampaign('campaign class C 2,400/min', 'C', 'MIXED', 5, 20, 40);
  perCampaign('campaign class E 240/min', 'E', 'ACCOUNT_NOTIFICATION', 10, 10, 4);
  const capBrand = uuid();
  brands.push([capBrand, 'C']);
  perCampaign(
    'campaign LOW_VOLUME 75/min (daily cap 1,000 × scale for the brand)',
    'C',
    'LOW_VOLUME',
    20,
    5,
    1.25,
    capBrand,
  );
  perCampaign('campaign sole proprietor 15/min', 'SOLE_PROPRIETOR', 'SOLE_PROPRIETOR', 50, 1, 0.25);
  return { groups, rows, campaigns, brands, capBrand };
}
