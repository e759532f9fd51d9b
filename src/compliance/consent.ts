/**
 * What an inbound reply means for consent: a whole-message keyword (opt-out, opt-in, help), an
 * opt-out phrase, a reply that needs review, or nothing. Pure.
 */
import type { KeywordAction, KeywordMatcher } from './keywords.ts';
import { detectOptOutPhrase } from './phrases.ts';

export const CONSENT_SOURCES = ['keyword', 'phrase', 'api', 'import'] as const;
export type ConsentSource = (typeof CONSENT_SOURCES)[number];

export type ReplyMeaning =
  | { kind: KeywordAction; source: 'keyword' | 'phrase'; keyword: string | undefined }
  | { kind: 'review' }
  | undefined;

/** Keywords first (they are exact), then the phrase detector. */
export function classifyReply(text: string, keywords: KeywordMatcher): ReplyMeaning {
  const k = keywords.match(text);
  if (k) return { kind: k.action, source: 'keyword', keyword: k.keyword };
  const p = detectOptOutPhrase(text);
  if (p === 'opt_out') return { kind: 'opt_out', source: 'phrase', keyword: undefined };
  if (p === 'review') return { kind: 'review' };
  return undefined;
}
