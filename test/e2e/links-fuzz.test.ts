/**
 * Fuzzing the new HTTP edges of issue 9 (fast-check, fixed seed): the public redirector with any
 * path, the figures with any query, sends with any body and link tracking. Never a 5xx, never a
 * stack trace; every short link stored resolves to the URL it replaced.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findUrls } from '../../src/messaging/links.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

const SEED = Number(process.env.PARLEY_FUZZ_SEED ?? 20261203);
const BASE = 'https://pl.test/l/';
let t: TestGateway;
let auth: Record<string, string>;
beforeAll(async () => {
  t = await startTestGateway({ file: import.meta.filename, env: { PARLEY_LINK_BASE_URL: BASE } });
  auth = { authorization: `Bearer ${t.account.apiKey}` };
});
afterAll(async () => t?.stop());

const noServerError = (status: number, body: string) => {
  expect(status).toBeLessThan(500);
  expect(body).not.toMatch(/\bat .*\.(ts|js):\d+|stack/i);
};

const urlish = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.constantFrom(
    'www.example.org/a(b)',
    'https://x.example/ü?q=ä',
    'http://[::1]/',
    'https://a.b.c.d.example:8080/',
  ),
);
const messy = fc.string({ unit: 'grapheme', maxLength: 40 });

describe('fuzzing the redirector, the figures and tracked sends', () => {
  it('GET /l/<anything> answers 302 or a 4xx, never an error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 80 }), async (s) => {
        const r = await t.gw.http.inject({ method: 'GET', url: `/l/${encodeURIComponent(s)}` });
        noServerError(r.statusCode, r.body);
        expect([302, 400, 404]).toContain(r.statusCode);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('the figures with any query answer 200 or a 4xx in the error shape', async () => {
    const n = (await t.request('GET', '/v1/numbers', undefined, auth)).json.data[0].id;
    const value = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.date({ noInvalidDate: false }).map((d) => String(d)),
      fc.integer().map(String),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({ from: value, to: value, interval: value, groupBy: value }, { requiredKeys: [] }),
        fc.boolean(),
        async (q, perNumber) => {
          const qs = new URLSearchParams(q as Record<string, string>).toString();
          const url = perNumber ? `/v1/numbers/${n}/metrics?${qs}` : `/v1/metrics/messages?${qs}`;
          const r = await t.gw.http.inject({ method: 'GET', url, headers: auth });
          noServerError(r.statusCode, r.body);
          if (r.statusCode >= 400) expect(r.json().error.code).toMatch(/^[A-Z_]+$/);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('tracked sends of any text with links: stored links resolve to the URLs they replaced', async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(messy, urlish), { minLength: 1, maxLength: 6 }), async (parts) => {
        const body = parts.join(' ');
        const r = await t.request(
          'POST',
          '/v1/messages',
          { to: '+14155550142', body, trackLinks: true },
          auth,
        );
        noServerError(r.status, JSON.stringify(r.json));
        if (r.status !== 202) return;
        sent++;
        const stored = (
          await t.gw.db.query<{ body: string }>('SELECT body FROM messages WHERE id = $1', [r.json.id])
        ).rows[0]!.body;
        // What is left once the short links are taken out is what was left of the original once
        // its links were (linkify-it is the oracle for where they were).
        const strip = (text: string, base: string) => {
          let out = '';
          let at = 0;
          for (const u of findUrls(text, base)) {
            out += text.slice(at, u.index);
            at = u.lastIndex;
          }
          return out + text.slice(at);
        };
        const shortCodes = [...stored.matchAll(/https:\/\/pl\.test\/l\/([0-9A-Za-z]{10})/g)].map(
          (m) => m[1]!,
        );
        expect(stored.replace(/https:\/\/pl\.test\/l\/[0-9A-Za-z]{10}/g, '')).toBe(strip(body, BASE));
        for (const code of new Set(shortCodes)) {
          const go = await t.gw.http.inject({ method: 'HEAD', url: `/l/${code}` });
          expect(go.statusCode).toBe(302);
          expect(findUrls(body, BASE).map((u) => u.url)).toContain(go.headers.location);
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
    expect(sent).toBeGreaterThan(50);
  });
});
