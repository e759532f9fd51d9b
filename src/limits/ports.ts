/** What the limits need from the store; src/store/limits-repo.ts implements it. */
import type { SenderProfile } from './policy-table.ts';

/** Segments of a brand's daily count to give back (slots never written). */
export interface DailyReturn {
  brandId: string;
  want: number;
}

/** Segments to take of a brand's daily count, up to its cap. */
export interface DailyTake extends DailyReturn {
  cap: number;
}

export interface LimitsStore {
  /** The limit-relevant facts of these sending numbers (unknown numbers are absent). */
  senderProfiles(e164s: readonly string[]): Promise<Map<string, SenderProfile>>;
  /**
   * Takes up to `want` segments of each brand's cap for `day` (US Pacific, YYYY-MM-DD), atomically
   * across instances, in one statement (a brand named twice is one take of both wants under the
   * tighter cap); resolves with how many each brand got. Rejects when the database does (then
   * nothing was taken).
   */
  takeDaily(day: string, takes: ReadonlyArray<DailyTake>): Promise<Map<string, number>>;
  /**
   * Gives back `want` segments of each brand's count for `day` (slots that were never written),
   * never below zero. Rejects when the database does (then nothing was given back).
   */
  returnDaily(day: string, takes: ReadonlyArray<DailyReturn>): Promise<void>;
  /** Records how far ahead each sender's rate-limited queue reaches (for the queue cap at accept). */
  setBacklog(entries: ReadonlyArray<{ e164: string; until: Date }>): Promise<void>;
  /** Counts carrier "over the limit" answers per campaign for `day`. */
  countOverLimit(day: string, perCampaign: ReadonlyMap<string, number>): Promise<void>;
}
