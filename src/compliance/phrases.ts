/**
 * Revocation of consent "by any reasonable means" (FCC 24-24, in force 11 April 2025): replies
 * such as "stop texting me" or "remove me from this list" opt out as surely as STOP. The detector
 * is conservative: it opts out only on explicit requests, and flags a reply that only might be one
 * (a keyword inside a sentence, "leave me alone", "wrong number") for a person to review. Negated
 * and unrelated uses ("don't stop", "stop by tomorrow", "the bus stop") are neither.
 */
import { foldKeyword } from './keywords.ts';

export type PhraseVerdict = 'opt_out' | 'review' | undefined;

/** Words that carry no meaning around a keyword: "STOP please", "pls unsubscribe thx". */
const POLITE = new Set([
  'please',
  'pls',
  'plz',
  'now',
  'asap',
  'thanks',
  'thank',
  'you',
  'thx',
  'ty',
  'already',
  'immediately',
  'ok',
  'okay',
  'just',
  'and',
  'i',
  'said',
  'again',
]);
const KEYWORDS = new Set(['stop', 'unsubscribe', 'optout', 'stopall', 'cancel', 'end', 'quit', 'revoke']);

const SEND_VERBS = `(?:text(?:ing)?|txt(?:ing)?|texting|messag(?:e|ing)|sms(?:ing)?|send(?:ing)?|contact(?:ing)?|spam(?:ming)?|bother(?:ing)?|call(?:ing)?|writ(?:e|ing)|email(?:ing)?)`;
const NEGATION = `(?:don'?t|do not|dont|never|can'?t|cannot|won'?t|will not|wouldn'?t|shouldn'?t|not)`;

/** Requests to stop messages that stay requests even inside a question ("can you stop texting me?"). */
const STRONG: readonly RegExp[] = [
  new RegExp(String.raw`\bstop ${SEND_VERBS}\b`),
  new RegExp(String.raw`\b${NEGATION} (?:ever )?${SEND_VERBS} (?:me|us|this number|my number)\b`),
  /\b(?:remove|take|delete|drop|erase) (?:me|my number|this number|my (?:phone|cell)(?: number)?)(?: off| from| out of)\b/,
  /\b(?:remove|delete|erase|lose) (?:me|my number|this number|my (?:phone|cell)(?: number)?)(?: (?:please|now|asap))?$/,
  /\bunsubscribe (?:me|this number|my number)\b/,
];

/** Explicit requests to stop messages: each alone is an opt-out, unless asked as a question about it. */
const EXPLICIT: readonly RegExp[] = [
  ...STRONG,
  /\b(?:i|we) (?:want|wanna|would like|d like|need) to (?:unsubscribe|opt ?out|stop (?:getting|receiving|these))\b/,
  /\b(?:please|pls|plz) (?:unsubscribe|opt me out|stop)\b/,
  /\bopt (?:me )?out\b/,
  /\bno (?:more|further) (?:texts?|messages?|sms|txts?|msgs?)\b/,
  /\b(?:stop|quit) (?:sending|getting) (?:me )?(?:these|this|your|any)\b/,
  /\bnot interested[,.]? (?:stop|remove|unsubscribe)\b/,
  /\bi (?:do not|don'?t|dont) want (?:these|your|any(?: more)?|more) (?:texts?|messages?|sms)\b/,
];

/** Uses of the words that are not about messages, or are negated. */
const NOT_OPT_OUT: readonly RegExp[] = [
  // "stop taking the pills", "stop worrying": a verb that is not about messages
  new RegExp(String.raw`\bstop (?!${SEND_VERBS}\b|getting\b|receiving\b)[\p{L}]+ing\b`, 'u'),
  new RegExp(String.raw`\b${NEGATION} (?:stop|unsubscribe|cancel|end|quit)\b`),
  /\bstop (?:by|at|in|over|for|on|the (?:car|bus|train))\b/,
  /\b(?:bus|train|truck|next|last|first|pit|one) stop\b/,
  /\bcancel (?:my|the|our|an|this|that) (?:order|appointment|reservation|booking|meeting|delivery|visit|table|ride)\b/,
  /\bend of\b/,
  /\b(?:weekend|the end|in the end)\b/,
];

const QUESTION = /^(?:what|how|why|when|where|if|is there|are there|can i|do i|does)\b/;

/** Might be a revocation: someone should look. */
const MAYBE: readonly RegExp[] = [
  /\bleave me alone\b/,
  /\bwrong (?:number|person)\b/,
  /\bwho is this\b/,
  /\bhow did you get (?:my|this) number\b/,
  /\b(?:stop|unsubscribe|opt ?out|remove me)\b/,
  /\bnot interested\b/,
  /\bspam\b/,
];

function words(t: string): string[] {
  return t.split(/[^\p{L}\p{N}']+/u).filter((w) => w.length > 0);
}

/**
 * Classifies a reply that is not a keyword on its own. Pure. Returns 'opt_out' for an explicit
 * request, 'review' when it might be one, undefined otherwise.
 */
export function detectOptOutPhrase(text: string): PhraseVerdict {
  if (text.length > 1_000) return undefined;
  // Quotes first: NFKC (in foldKeyword) turns "´" into a space and a combining accent.
  const t = foldKeyword(text.replace(/[’‘`´ʼ]/gu, "'"))
    .replace(/[^\p{L}\p{N}' ]+/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
  if (t.length === 0) return undefined;
  const ws = words(t);
  // A keyword wrapped in politeness ("STOP please", "pls unsubscribe thanks"): an opt-out.
  const kw = ws.filter((w) => KEYWORDS.has(w));
  if (kw.length > 0 && ws.every((w) => KEYWORDS.has(w) || POLITE.has(w)) && ws.length <= 6) return 'opt_out';
  const negated = NOT_OPT_OUT.some((r) => r.test(t));
  // "What happens if I opt out?" asks about opting out: a person answers it.
  const asks = QUESTION.test(t);
  if (!negated && (asks ? STRONG : EXPLICIT).some((r) => r.test(t))) return 'opt_out';
  if (negated) {
    // "Don't stop" is no opt-out, but "don't text me" in the same reply still is.
    const rest = NOT_OPT_OUT.reduce((s, r) => s.replace(new RegExp(r.source, `${r.flags}g`), ' '), t);
    if (EXPLICIT.some((r) => r.test(rest))) return 'opt_out';
    return undefined;
  }
  if (MAYBE.some((r) => r.test(t))) return 'review';
  return undefined;
}
