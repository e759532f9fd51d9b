/**
 * Link shortening for click tracking: each http(s) URL (or `www.` address) of a body becomes a
 * short link `<base><code>`, one code per message and URL. Finding URLs is linkify-it's job (a
 * hand-written pattern would get trailing punctuation and brackets wrong); codes are nanoid's.
 */
import LinkifyIt from 'linkify-it';
import { customAlphabet } from 'nanoid';
import type { AcceptCandidate } from './compose.ts';
import { ALLOW, type Decision, type Policy } from './pipeline.ts';

/** 62 symbols × 10 = 59.5 bits: unguessable, and 10 characters of the SMS instead of 21. */
export const LINK_CODE_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const LINK_CODE_LENGTH = 10;
export const LINK_CODE = /^[0-9A-Za-z]{10}$/;
/** A longer URL is left as it is (no redirect target we store may exceed it). */
export const MAX_TRACKED_URL = 2_048;

export const newLinkCode: () => string = customAlphabet(LINK_CODE_ALPHABET, LINK_CODE_LENGTH);

/** A short link made for a message. */
export interface TrackedLink {
  code: string;
  url: string;
}

const linkify = new LinkifyIt({ fuzzyLink: true, fuzzyEmail: false, fuzzyIP: false });
linkify.add('mailto:', null).add('//', null).add('ftp:', null);

/** The URLs of a body that get short links, with where each sits. */
export function findUrls(
  body: string,
  base: string,
): Array<{ index: number; lastIndex: number; url: string }> {
  const found = linkify.match(body) ?? [];
  return found
    .filter((m) => {
      const http = m.schema === 'http:' || m.schema === 'https:';
      // Bare domains ("node.js") are words too often; "www." and a scheme are clearly links.
      const www = m.schema === '' && /^www\./i.test(m.raw);
      return (http || www) && !m.url.startsWith(base) && m.url.length <= MAX_TRACKED_URL;
    })
    .map((m) => ({ index: m.index, lastIndex: m.lastIndex, url: m.url }));
}

/**
 * Replaces each tracked URL by `<base><code>`; the same URL twice in one body shares its code.
 * `base` ends with "/" (config checks it). Pure apart from `code()`.
 */
export function shortenLinks(
  body: string,
  base: string,
  code: () => string = newLinkCode,
): { body: string; links: TrackedLink[] } {
  const urls = findUrls(body, base);
  if (urls.length === 0) return { body, links: [] };
  const byUrl = new Map<string, string>();
  let out = '';
  let at = 0;
  for (const u of urls) {
    let c = byUrl.get(u.url);
    if (c === undefined) {
      c = code();
      byUrl.set(u.url, c);
    }
    out += body.slice(at, u.index) + base + c;
    at = u.lastIndex;
  }
  out += body.slice(at);
  return { body: out, links: [...byUrl].map(([url, c]) => ({ code: c, url })) };
}

/**
 * Accept: with link tracking on (the request's `trackLinks`, else the account's default), URLs
 * become short links before the footer and encoding, so segments count the short body. The
 * links travel with the verdict and are stored in the message's own INSERT.
 */
export function linksAcceptPolicy(
  base: string,
  accountDefault: (accountIds: readonly string[]) => Promise<Map<string, boolean>>,
): Policy<AcceptCandidate, Map<string, boolean>> {
  return {
    name: 'links',
    load: (cs) => {
      const ask = [...new Set(cs.filter((c) => c.trackLinks === undefined).map((c) => c.accountId))];
      return ask.length === 0 ? Promise.resolve(new Map()) : accountDefault(ask);
    },
    decide(c, defaults): Decision {
      if (!(c.trackLinks ?? defaults.get(c.accountId) ?? false)) return ALLOW;
      const r = shortenLinks(c.body, base);
      if (r.links.length === 0) return ALLOW;
      return { kind: 'transform', body: r.body, links: r.links };
    },
  };
}

/** What kind of client followed a link (a low-cardinality label; bots are not counted as clicks). */
export type AgentClass = 'bot' | 'mobile' | 'desktop' | 'unknown';
