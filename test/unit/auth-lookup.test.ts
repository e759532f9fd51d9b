import { createHash } from 'node:crypto';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { registerAuth } from '../../src/http/plugins/auth.ts';
import { registerErrorHandling } from '../../src/http/plugins/errors.ts';
import { createLogger } from '../../src/logger.ts';
import { LocalBus } from '../../src/messaging/events.ts';

const KEY = 'pk_live_0123456789abcdef';
const HASH = createHash('sha256').update(KEY).digest('hex');

function build(lookup: (h: string) => Promise<string | undefined>, cacheMs = 1_000) {
  const bus = new LocalBus();
  const app = Fastify();
  registerErrorHandling(app as never, createLogger({ level: 'silent' }));
  registerAuth(app as never, { adminToken: undefined, accountIdForKeyHash: lookup, cacheMs, bus });
  app.get('/v1/me', { config: { auth: 'account' } }, async (req) => ({ accountId: req.accountId }));
  return { app, bus };
}
const call = (app: ReturnType<typeof Fastify>) =>
  app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${KEY}` } });

describe('API key look-ups', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('share one database look-up among the requests that arrive while a key is not cached (regression: a herd of look-ups every cacheMs)', async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { app } = build(async (h) => {
      calls++;
      await gate;
      return h === HASH ? 'acct-1' : undefined;
    });
    close = () => app.close();
    const many = Array.from({ length: 40 }, () => call(app));
    await new Promise((r) => setTimeout(r, 20));
    release();
    const res = await Promise.all(many);
    expect(res.map((r) => r.statusCode)).toEqual(Array(40).fill(200));
    expect(calls).toBe(1);
    // Cached now: no further look-up.
    expect((await call(app)).statusCode).toBe(200);
    expect(calls).toBe(1);
  });

  it('does not cache the answer of a look-up that a revocation overtook', async () => {
    let live = true;
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const { app, bus } = build(async () => {
      // The row as it was read when the look-up began.
      const wasLive = live;
      await gate;
      return wasLive ? 'acct-1' : undefined;
    });
    close = () => app.close();
    const first = call(app);
    await new Promise((r) => setTimeout(r, 20));
    live = false;
    bus.publish('apikey.revoked', [{ accountId: 'acct-1', keyHash: HASH } as never]);
    release();
    expect((await first).statusCode).toBe(200);
    gate = Promise.resolve();
    expect((await call(app)).statusCode).toBe(401);
  });

  it('lets every sharer of a failed look-up see 503, and the next request asks again', async () => {
    let fail = true;
    let calls = 0;
    const { app } = build(async () => {
      calls++;
      if (fail) throw Object.assign(new Error('terminating connection'), { code: '57P01' });
      return 'acct-1';
    });
    close = () => app.close();
    const res = await Promise.all([call(app), call(app), call(app)]);
    expect(res.map((r) => r.statusCode)).toEqual([503, 503, 503]);
    fail = false;
    expect((await call(app)).statusCode).toBe(200);
    expect(calls).toBeGreaterThanOrEqual(2);
  });
});
