/** What the limits need from the store; src/store/limits-repo.ts implements it. */
import type { SenderProfile } from './policy-table.ts';

export interface LimitsStore {
  /** The limit-relevant facts of these sending numbers (unknown numbers are absent). */
  senderProfiles(e164s: readonly string[]): Promise<Map<string, SenderProfile>>;
  /**
   * Takes up to `want` segments of a brand's cap for `day` (US Pacific, YYYY-MM-DD), atomically
   * across instances; resolves with how many it got. Rejects when the database does.
   */
  takeDaily(brandId: string, day: string, want: number, cap: number): Promise<number>;
  /** Records how far ahead each sender's rate-limited queue reaches (for the queue cap at accept). */
  setBacklog(entries: ReadonlyArray<{ e164: string; until: Date }>): Promise<void>;
  /** Counts carrier "over the limit" answers per campaign for `day`. */
  countOverLimit(day: string, perCampaign: ReadonlyMap<string, number>): Promise<void>;
}
