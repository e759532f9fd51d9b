/**
 * Opt-out, opt-in and help keywords (CTIA Messaging Principles; carrier codes of conduct): a
 * keyword counts only as the whole message, after trimming whitespace and trailing punctuation,
 * compared case-insensitively with Unicode case folding, so "Stop!", " stop " and a UCS-2 "ＳＴＯＰ"
 * all opt out while "stop by tomorrow" does not.
 */

export type KeywordAction = 'opt_out' | 'opt_in' | 'help';

export interface KeywordSets {
  optOut: readonly string[];
  optIn: readonly string[];
  help: readonly string[];
}

/** Defaults: CTIA's standard opt-out words and the common variants carriers honour. */
export const DEFAULT_KEYWORDS: KeywordSets = Object.freeze({
  optOut: [
    'STOP',
    'STOPALL',
    'STOP ALL',
    'UNSUBSCRIBE',
    'CANCEL',
    'END',
    'QUIT',
    'REVOKE',
    'OPTOUT',
    'OPT OUT',
    'OPT-OUT',
  ],
  optIn: ['START', 'YES', 'UNSTOP'],
  help: ['HELP', 'INFO'],
});

/** Longest keyword we accept in settings (and so the longest message worth folding). */
export const MAX_KEYWORD_LENGTH = 40;

/**
 * The comparable form of a text: NFKC (full-width and compatibility forms become plain letters),
 * case-folded (upper then lower, so "ß" and "SS" meet), inner whitespace collapsed, and leading
 * whitespace and trailing whitespace and punctuation removed.
 */
export function foldKeyword(text: string): string {
  return text
    .normalize('NFKC')
    .toUpperCase()
    .toLowerCase()
    .replace(/\s+/gu, ' ')
    .replace(/^\s+/u, '')
    .replace(/[\s\p{P}\p{S}]+$/u, '');
}

/** Keyword sets folded once, for matching many messages. */
export class KeywordMatcher {
  private readonly map = new Map<string, KeywordAction>();

  constructor(sets: KeywordSets = DEFAULT_KEYWORDS) {
    // Opt-out wins over the others when a word appears in two lists: failing safe is not sending.
    for (const k of sets.help) this.map.set(foldKeyword(k), 'help');
    for (const k of sets.optIn) this.map.set(foldKeyword(k), 'opt_in');
    for (const k of sets.optOut) this.map.set(foldKeyword(k), 'opt_out');
    this.map.delete('');
  }

  /** The action `text` asks for as a whole-message keyword, with the keyword as matched; else undefined. */
  match(text: string): { action: KeywordAction; keyword: string } | undefined {
    // A keyword is short: longer texts are never whole-message keywords (and are not folded).
    if (text.length > MAX_KEYWORD_LENGTH * 4) return undefined;
    const k = foldKeyword(text);
    const action = this.map.get(k);
    return action === undefined ? undefined : { action, keyword: k.toUpperCase() };
  }
}
