import { describe, expect, it } from 'vitest';
import { LocalBus } from '../../src/messaging/events.ts';
import { agentClass, LinkService, type LinkStore } from '../../src/messaging/link-clicks.ts';
import {
  findUrls,
  LINK_CODE,
  linksAcceptPolicy,
  MAX_TRACKED_URL,
  newLinkCode,
  shortenLinks,
} from '../../src/messaging/links.ts';

const silent = { warn: () => undefined } as never;

describe('short links', () => {
  it('shorten http(s) and www. links, keep words with dots and the short base itself', () => {
    const base = 'https://pl.test/l/';
    let n = 0;
    const code = () => `C${String(n++).padStart(9, '0')}`;
    const r = shortenLinks(
      'Go to https://a.example/x?y=1, (www.example.org/p). Node.js and https://pl.test/l/AAAAAAAAAA stay. https://a.example/x?y=1!',
      base,
      code,
    );
    expect(r.body).toBe(
      'Go to https://pl.test/l/C000000000, (https://pl.test/l/C000000001). Node.js and https://pl.test/l/AAAAAAAAAA stay. https://pl.test/l/C000000000!',
    );
    expect(r.links).toEqual([
      { code: 'C000000000', url: 'https://a.example/x?y=1' },
      { code: 'C000000001', url: 'http://www.example.org/p' },
    ]);
    expect(findUrls('mail me: a@b.example, ftp://x.example, //c.example', base)).toEqual([]);
    expect(shortenLinks('no links here', base)).toEqual({ body: 'no links here', links: [] });
  });

  it('make unguessable 10-character codes', () => {
    const codes = new Set(Array.from({ length: 10_000 }, newLinkCode));
    expect(codes.size).toBe(10_000);
    for (const c of codes) expect(c).toMatch(LINK_CODE);
  });

  it('tell bots from people by User-Agent', () => {
    expect(agentClass('facebookexternalhit/1.1')).toBe('bot');
    expect(agentClass('Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)')).toBe('bot');
    expect(agentClass('Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36')).toBe('mobile');
    expect(agentClass('Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/120.0')).toBe('desktop');
    expect(agentClass(undefined)).toBe('unknown');
  });

  it('a click the database cannot record is counted lost, the redirect still answers', async () => {
    const store: LinkStore = {
      resolve: async () => new Map([['AAAAAAAAAA', { url: 'https://x.example/' }]]),
      recordClicks: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      },
    };
    const bus = new LocalBus();
    const lost: string[] = [];
    bus.subscribe('link.click_lost', (evs) => lost.push(...evs.map((e) => e.agent)));
    const links = new LinkService(store, bus, silent);
    expect(await links.resolve('AAAAAAAAAA')).toEqual({ url: 'https://x.example/' });
    expect(await links.resolve('../../etc')).toBeUndefined();
    expect(await links.click('AAAAAAAAAA', 'Mozilla/5.0 (iPhone; Mobile)')).toBe('mobile');
    expect(lost).toEqual(['mobile']);
  });

  it('resolves concurrent misses with one query, and caches hits and misses', async () => {
    const asked: string[][] = [];
    const store: LinkStore = {
      resolve: async (codes) => {
        asked.push([...codes]);
        return new Map(
          codes.filter((c) => c.startsWith('A')).map((c) => [c, { url: `https://e.example/${c}` }]),
        );
      },
      recordClicks: async () => [],
    };
    const links = new LinkService(store, new LocalBus(), silent);
    const codes = ['AAAAAAAAA1', 'AAAAAAAAA2', 'BBBBBBBBBB', 'AAAAAAAAA1'];
    const got = await Promise.all(codes.map((c) => links.resolve(c)));
    expect(got.map((g) => g?.url)).toEqual([
      'https://e.example/AAAAAAAAA1',
      'https://e.example/AAAAAAAAA2',
      undefined,
      'https://e.example/AAAAAAAAA1',
    ]);
    expect(asked).toHaveLength(1);
    await links.resolve('AAAAAAAAA2');
    await links.resolve('BBBBBBBBBB');
    expect(asked).toHaveLength(1);
  });
});

describe('the links policy and URL finding at their edges', () => {
  const base = 'https://pl.test/l/';
  const cand = (over: Record<string, unknown>) =>
    ({ accountId: 'acc', body: 'see https://example.com/a', trackLinks: undefined, ...over }) as never;

  it('takes the request over the account default; asks the defaults only for requests that do not say', async () => {
    const asked: string[][] = [];
    const p = linksAcceptPolicy(base, async (ids) => {
      asked.push([...ids]);
      return new Map([['acc', true]]);
    });
    const defaults = await p.load!([cand({}), cand({ trackLinks: false }), cand({ accountId: 'acc' })]);
    expect(asked).toEqual([['acc']]);
    expect(p.decide(cand({}), defaults)).toMatchObject({
      kind: 'transform',
      links: [{ url: 'https://example.com/a' }],
    });
    expect(p.decide(cand({ trackLinks: false }), defaults)).toEqual({ kind: 'allow' });
    expect(p.decide(cand({ accountId: 'other' }), defaults)).toEqual({ kind: 'allow' });
    expect(p.decide(cand({ accountId: 'other', trackLinks: true }), defaults).kind).toBe('transform');
    expect(p.decide(cand({ trackLinks: true, body: 'no link' }), defaults)).toEqual({ kind: 'allow' });
    expect(await p.load!([cand({ trackLinks: true })])).toEqual(new Map());
    expect(asked).toHaveLength(1);
    expect(p.name).toBe('links');
  });

  it('leaves bare domains, other schemes and over-long URLs alone', () => {
    expect(findUrls('visit example.org or shop.example.com today', base)).toEqual([]);
    expect(findUrls('WWW.EXAMPLE.ORG/x', base).map((u) => u.url)).toEqual(['http://WWW.EXAMPLE.ORG/x']);
    expect(findUrls('ftp://files.example.org/a mailto:a@example.org', base)).toEqual([]);
    const at = (n: number) => `https://example.com/${'a'.repeat(n - 'https://example.com/'.length)}`;
    expect(findUrls(at(MAX_TRACKED_URL), base)).toHaveLength(1);
    expect(findUrls(at(MAX_TRACKED_URL + 1), base)).toEqual([]);
    expect(LINK_CODE.test('AAAAAAAAAA')).toBe(true);
    expect(LINK_CODE.test('AAAAAAAAAAB')).toBe(false);
    expect(LINK_CODE.test('-AAAAAAAAAA')).toBe(false);
    expect(LINK_CODE.test('AAAAAAAAA-')).toBe(false);
  });
});
