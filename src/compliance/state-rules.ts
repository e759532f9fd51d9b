/**
 * US state telephone-solicitation hours, applied (when an account turns the state mode on) on top
 * of its own window: the strictest of the two wins. One table; each row names its source. These
 * statutes govern telephone solicitations (marketing); carriers and counsel read them as covering
 * marketing texts. Not legal advice: review with counsel.
 */
import type { SendWindow } from './quiet-hours.ts';

/** Per ISO weekday (1 = Monday … 7 = Sunday): the window, or null when nothing may be sent. */
export type WeekWindows = Readonly<Record<1 | 2 | 3 | 4 | 5 | 6 | 7, SendWindow | null>>;

const every = (w: SendWindow | null): WeekWindows => ({ 1: w, 2: w, 3: w, 4: w, 5: w, 6: w, 7: w });
const w = (start: string, end: string): SendWindow => ({ start, end });

export interface StateRule {
  state: string;
  week: WeekWindows;
  source: string;
}

/** Keyed by the state name libphonenumber's geocoding data gives an area code. */
export const STATE_RULES: ReadonlyMap<string, StateRule> = new Map(
  [
    {
      state: 'Florida',
      week: every(w('08:00', '20:00')),
      source: 'Florida Telephone Solicitation Act, Fla. Stat. § 501.059 (as amended 2021)',
    },
    {
      state: 'Oklahoma',
      week: every(w('08:00', '20:00')),
      source: 'Oklahoma Telephone Solicitation Act of 2022',
    },
    {
      state: 'Maryland',
      week: every(w('08:00', '20:00')),
      source: 'Maryland Stop the Spam Calls Act of 2023',
    },
    { state: 'Washington State', week: every(w('08:00', '20:00')), source: 'Washington, RCW 80.36.390' },
    {
      state: 'Connecticut',
      week: every(w('09:00', '20:00')),
      source: 'Connecticut, Conn. Gen. Stat. § 42-288a (as amended 2023)',
    },
    {
      state: 'Texas',
      week: { ...every(w('09:00', '21:00')), 7: w('12:00', '21:00') },
      source: 'Texas, Tex. Bus. & Com. Code § 301.051',
    },
    {
      state: 'Kentucky',
      week: every(w('10:00', '21:00')),
      source: 'Kentucky telephone solicitation law, KRS 367.46955',
    },
    { state: 'Michigan', week: every(w('09:00', '21:00')), source: 'Michigan Home Solicitation Sales Act' },
    { state: 'Minnesota', week: every(w('09:00', '21:00')), source: 'Minnesota, Minn. Stat. § 325E.27' },
    {
      state: 'New Mexico',
      week: every(w('09:00', '21:00')),
      source: 'New Mexico Telephone Solicitation Act',
    },
    { state: 'Nevada', week: every(w('09:00', '20:00')), source: 'Nevada, NRS 228.590' },
    {
      state: 'Alabama',
      week: { ...every(w('08:00', '20:00')), 7: null },
      source: 'Alabama Telephone Solicitation Act',
    },
    {
      state: 'Louisiana',
      week: { ...every(w('08:00', '20:00')), 7: null },
      source: 'Louisiana Telephone Solicitation Relief Act',
    },
    {
      state: 'Mississippi',
      week: { ...every(w('08:00', '20:00')), 7: null },
      source: 'Mississippi Telephone Solicitation Act',
    },
  ].map((r) => [r.state, r as StateRule]),
);

/** The stricter of two windows (the later start, the earlier end); null when they do not overlap. */
export function strictest(a: SendWindow, b: SendWindow | null): SendWindow | null {
  if (b === null) return null;
  // "HH:MM" strings compare in time order (Math.max/min would turn them into NaN).
  // biome-ignore lint/complexity/useMathMinMax: string comparison, see above
  const start = a.start > b.start ? a.start : b.start;
  // biome-ignore lint/complexity/useMathMinMax: string comparison, see above
  const end = a.end < b.end ? a.end : b.end;
  return start < end ? { start, end } : null;
}

/** The account's window narrowed by a state's rule, per weekday. */
export function weekFor(account: SendWindow, rule: StateRule | undefined): WeekWindows {
  if (!rule) return every(account);
  const out = {} as Record<1 | 2 | 3 | 4 | 5 | 6 | 7, SendWindow | null>;
  for (const d of [1, 2, 3, 4, 5, 6, 7] as const) out[d] = strictest(account, rule.week[d]);
  return out;
}
