// Each rule of the compliance core held on its own (the labelled corpus tolerates a few misses, so
// it cannot tell when one rule stops working): opt-out keywords and phrases, the send window, the
// defaults an account starts with, a campaign's replies, the opt-out gate's bounds.
import { describe, expect, it } from 'vitest';
import { classifyReply } from '../../src/compliance/consent.ts';
import { OptOutGate } from '../../src/compliance/gate.ts';
import { KeywordMatcher } from '../../src/compliance/keywords.ts';
import { detectOptOutPhrase } from '../../src/compliance/phrases.ts';
import { isValidWindow, nextAllowed, nextAllowedBy } from '../../src/compliance/quiet-hours.ts';
import { DEFAULT_COMPLIANCE, helpText, withCampaign, withDefaults } from '../../src/compliance/settings.ts';

// Written out, not read from DEFAULT_KEYWORDS: a word dropped from the defaults must fail here.
const CTIA_OPT_OUT = [
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
];
const CTIA_OPT_IN = ['START', 'YES', 'UNSTOP'];
const CTIA_HELP = ['HELP', 'INFO'];

describe('opt-out keywords', () => {
  const m = new KeywordMatcher();

  it('honour every default keyword (CTIA) as the whole message', () => {
    for (const k of CTIA_OPT_OUT)
      expect(m.match(k.toLowerCase()), k).toEqual({ action: 'opt_out', keyword: k });
    for (const k of CTIA_OPT_IN) expect(m.match(k), k).toEqual({ action: 'opt_in', keyword: k });
    for (const k of CTIA_HELP) expect(m.match(k), k).toEqual({ action: 'help', keyword: k });
  });

  it('are not looked for in a text longer than four times the longest keyword', () => {
    expect(m.match(`STOP${' '.repeat(156)}`)).toEqual({ action: 'opt_out', keyword: 'STOP' });
    expect(m.match(`STOP${' '.repeat(157)}`)).toBeUndefined();
  });

  it('never match an empty or punctuation-only text, even when a list holds such a word', () => {
    const odd = new KeywordMatcher({ optOut: ['!', ' '], optIn: [''], help: ['?'] });
    for (const t of ['', '!', '?', ' ', '...']) expect(odd.match(t), JSON.stringify(t)).toBeUndefined();
  });

  it('say where a meaning came from', () => {
    expect(classifyReply('Stop', m)).toEqual({ kind: 'opt_out', source: 'keyword', keyword: 'STOP' });
    expect(classifyReply('stop texting me', m)).toEqual({
      kind: 'opt_out',
      source: 'phrase',
      keyword: undefined,
    });
    expect(classifyReply('who is this', m)).toEqual({ kind: 'review' });
    expect(classifyReply('see you at 5', m)).toBeUndefined();
  });
});

describe('opt-out phrases', () => {
  const is = (text: string, want: 'opt_out' | 'review' | undefined) =>
    expect(detectOptOutPhrase(text), JSON.stringify(text)).toBe(want);

  it('a keyword wrapped in any polite word opts out; the keyword alone among other words is for review', () => {
    for (const t of [
      'stop please',
      'stop pls',
      'stop plz',
      'stop now',
      'stop asap',
      'stop thanks',
      'stop thank you',
      'stop thx',
      'stop ty',
      'stop already',
      'stop immediately',
      'ok stop',
      'okay stop',
      'just stop',
      'stop and unsubscribe',
      'i said stop',
      'stop again',
    ])
      is(t, 'opt_out');
    for (const k of ['stop', 'unsubscribe', 'optout', 'stopall', 'cancel', 'end', 'quit', 'revoke'])
      is(`${k} please`, 'opt_out');
    is('stop now now now now now', 'opt_out');
    is('stop now now now now now now', 'review');
    is('stop the music', 'review');
  });

  it('explicit requests opt out, in each of their forms', () => {
    for (const t of [
      'opt out',
      'opt me out',
      'no more text',
      'no more texts',
      'no more message',
      'no further messages',
      'no more sms',
      'no more txt',
      'no more msg',
      'no more msgs',
      'quit sending these',
      'stop getting these',
      'not interested stop',
      'i want to opt out',
      'we need to optout',
      "i don't want any texts",
      'i dont want any more messages',
      'i do not want these sms',
      "i don't want your text",
      'i do not want your message',
      'remove my cell from your list',
      'remove my phone number from the list',
      'take my number off',
      'delete my number',
      'remove my cell',
      'erase my phone number now',
      'lose my number please',
      'remove me asap',
    ])
      is(t, 'opt_out');
  });

  it('normalizes quotes, punctuation and spacing before matching', () => {
    is('don’t text me', 'opt_out');
    // Regression: "´" was replaced after NFKC had already made it a space and a combining accent.
    is('I don´t want your messages', 'opt_out');
    is('I donʼt want your messages', 'opt_out');
    is('opt-out', 'opt_out');
    is('STOP.TEXTING ME', 'opt_out');
    is('stop - texting me', 'opt_out');
    is('remove me!', 'opt_out');
  });

  it('a question about opting out is for a person, a request inside one still counts', () => {
    is('what is optout', 'review');
    is('opt me out, what a pain', 'opt_out');
    is('can you stop texting me?', 'opt_out');
    is('what happens if i opt out?', 'review');
  });

  it('negated or unrelated uses are not opt-outs, but a request beside them is', () => {
    is('stop worrying', undefined);
    is("don't stop texting me! don't stop texting me!", undefined);
    is("don't stop the show, but no more texts", 'opt_out');
    is('see you at the bus stop', undefined);
  });

  it('reads at most 1,000 characters', () => {
    const text = (n: number) => `stop texting me ${'x'.repeat(n - 16)}`;
    is(text(1_000), 'opt_out');
    is(text(1_001), undefined);
  });
});

describe('send window', () => {
  it('accepts HH:MM only, whole', () => {
    expect(isValidWindow({ start: '08:00', end: '21:00' })).toBe(true);
    expect(isValidWindow({ start: '108:00', end: '21:00' })).toBe(false);
    expect(isValidWindow({ start: '08:00', end: '21:000' })).toBe(false);
    expect(isValidWindow({ start: '21:00', end: '08:00' })).toBe(false);
  });

  it('treats a day without a window as closed', () => {
    // Sunday 2026-01-04 12:00 in New York (17:00Z): no window on Sundays, so Monday 08:00 (13:00Z).
    const noSunday = (d: number) => (d === 7 ? null : { start: '08:00', end: '21:00' });
    expect(
      nextAllowedBy(['America/New_York'], noSunday, new Date('2026-01-04T17:00:00Z'))?.toISOString(),
    ).toBe('2026-01-05T13:00:00.000Z');
  });

  it('with no instant open in every zone, the earliest opening anywhere, whatever the zones’ order', () => {
    const w = { start: '08:00', end: '09:00' };
    const now = new Date('2026-01-05T12:00:00Z');
    // Tokyo opens 23:00Z, New York 13:00Z: the windows never meet.
    for (const zones of [
      ['Asia/Tokyo', 'America/New_York'],
      ['America/New_York', 'Asia/Tokyo'],
    ])
      expect(nextAllowed(zones, w, now)?.toISOString(), zones.join()).toBe('2026-01-05T13:00:00.000Z');
  });
});

describe('compliance settings', () => {
  it('start from the documented defaults', () => {
    expect(DEFAULT_COMPLIANCE).toEqual({
      businessName: '',
      keywords: {
        optOut: CTIA_OPT_OUT,
        optIn: CTIA_OPT_IN,
        help: CTIA_HELP,
      },
      optOutReply:
        'You have been unsubscribed and will receive no more messages. Reply START to resubscribe.',
      optInReply: 'You have been resubscribed. Reply STOP to unsubscribe.',
      helpReply: '{business}: reply STOP to unsubscribe. Msg & data rates may apply.',
      detectPhrases: true,
      quietHours: {
        enabled: true,
        start: '08:00',
        end: '21:00',
        mode: 'schedule',
        timeZone: 'America/New_York',
        stateRules: false,
      },
      footer: { enabled: true, text: 'Reply STOP to unsubscribe.' },
      frequencyCap: { enabled: false, max: 3, hours: 24 },
      trackLinks: false,
    });
  });

  it('keep the default frequency cap fields a stored document lacks', () => {
    const s = withDefaults({ frequencyCap: { enabled: true } as never });
    expect(s.frequencyCap).toEqual({ enabled: true, max: 3, hours: 24 });
    expect(withDefaults({ businessName: 'Acme' }).frequencyCap).toEqual({
      enabled: false,
      max: 3,
      hours: 24,
    });
  });

  it('name the business in HELP, trimmed, or say "This number"', () => {
    expect(helpText({ ...DEFAULT_COMPLIANCE, businessName: '  Acme  ' })).toBe(
      'Acme: reply STOP to unsubscribe. Msg & data rates may apply.',
    );
    expect(helpText({ ...DEFAULT_COMPLIANCE, businessName: '   ' })).toMatch(/^This number: /);
  });

  it("take a campaign's replies and add its keywords to the account's, never replacing them", () => {
    expect(withCampaign(DEFAULT_COMPLIANCE, undefined)).toBe(DEFAULT_COMPLIANCE);
    const s = withCampaign(DEFAULT_COMPLIANCE, {
      optOutKeywords: [' ARRET ', 'STOP', ''],
      optInKeywords: ['GO'],
      helpKeywords: [],
      optOutReply: ' Bye from Acme. ',
      optInReply: '   ',
      helpReply: undefined,
    });
    expect(s.keywords.optOut).toEqual([...DEFAULT_COMPLIANCE.keywords.optOut, 'ARRET']);
    expect(s.keywords.optIn).toEqual([...DEFAULT_COMPLIANCE.keywords.optIn, 'GO']);
    expect(s.keywords.help).toBe(DEFAULT_COMPLIANCE.keywords.help);
    expect(s.optOutReply).toBe('Bye from Acme.');
    expect(s.optInReply).toBe(DEFAULT_COMPLIANCE.optInReply);
    expect(s.helpReply).toBe(DEFAULT_COMPLIANCE.helpReply);
    expect(s.quietHours).toBe(DEFAULT_COMPLIANCE.quietHours);
    const none = withCampaign(DEFAULT_COMPLIANCE, { helpReply: ' Acme help: call 555. ' });
    expect(none.keywords).toEqual(DEFAULT_COMPLIANCE.keywords);
    expect([none.optOutReply, none.optInReply]).toEqual([
      DEFAULT_COMPLIANCE.optOutReply,
      DEFAULT_COMPLIANCE.optInReply,
    ]);
    expect(none.helpReply).toBe('Acme help: call 555.');
  });
});

describe('opt-out gate bounds', () => {
  it('keeps at most maxEntries exemptions, the oldest dropped first', () => {
    const g = new OptOutGate(1_000, 2);
    g.block(['+1555'], '+1415', ['r1', 'r2', 'r3'], 0);
    expect(g.allows('r1', '+1555', '+1415', 10)).toBe(false);
    expect(g.allows('r2', '+1555', '+1415', 10)).toBe(true);
    expect(g.allows('r3', '+1555', '+1415', 10)).toBe(true);
  });

  it('an exemption is for the opt-out that made it: a later block does not inherit it', () => {
    const g = new OptOutGate(1_000, 10);
    g.block(['+1555'], '+1415', ['reply'], 0);
    expect(g.allows('reply', '+1555', '+1415', 500)).toBe(true);
    g.block(['+1555'], '+1415', [], 1_500);
    expect(g.allows('reply', '+1555', '+1415', 1_600)).toBe(false);
  });
});
