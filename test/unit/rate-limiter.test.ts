import { afterEach, describe, expect, it } from 'vitest';
import { BottleneckRateLimiter } from '../../src/limits/rate-limiter.ts';
import { redisMissing, redisUrlOrUndefined } from '../helpers/services.ts';
import { waitFor } from '../helpers/smpp.ts';
import { TcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';

const open: BottleneckRateLimiter[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});
const limiter = (url: string | undefined, prefix: string) => {
  const l = new BottleneckRateLimiter(url, prefix);
  open.push(l);
  return l;
};
/** `amount` a second, all of it at once (whole-second reservoirs make the arithmetic plain). */
const perSecond = (key: string, amount: number) => ({
  key,
  kind: 'number' as const,
  amount,
  intervalMs: 1000,
});
const prefix = () => `test:limiter:${process.pid}:${Math.random().toString(36).slice(2)}:`;

describe('the Bottleneck rate limiter', () => {
  it('grants one interval at once, then what the interval adds (local)', async () => {
    const l = limiter(undefined, prefix());
    const spec = perSecond('n:+1', 5);
    expect((await l.take(spec, 3)).granted).toBe(3);
    expect((await l.take(spec, 10)).granted).toBe(2);
    expect((await l.take(spec, 10)).granted).toBe(0);
    let got = 0;
    await waitFor(
      () => got > 0,
      3_000,
      'the next interval',
      async () => {
        got = (await l.take(spec, 10)).granted;
      },
    );
    expect(got).toBe(5);
  });

  it('gives back unused segments, never beyond one interval', async () => {
    const l = limiter(undefined, prefix());
    const spec = perSecond('n:+2', 4);
    expect((await l.take(spec, 4)).granted).toBe(4);
    await l.giveBack(spec, 100);
    expect((await l.take(spec, 100)).granted).toBe(4);
  });

  it('shares one reservoir across instances through Redis', async (ctx) => {
    const missing = redisMissing();
    if (missing) ctx.skip(missing);
    const p = prefix();
    const a = limiter(redisUrlOrUndefined(), p);
    const b = limiter(redisUrlOrUndefined(), p);
    const spec = perSecond('n:+3', 10);
    // Both ask for all of it at the same moment: together they get one interval's worth.
    const takes = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).take(spec, 10)));
    expect(takes.reduce((s, t) => s + t.granted, 0)).toBe(10);
    // A different prefix is a different reservoir (tests and deployments stay apart).
    const c = limiter(redisUrlOrUndefined(), prefix());
    expect((await c.take(spec, 10)).granted).toBe(10);
  });

  it('rides out a dropped and a silent Redis: takes reject in bounded time, then work again', async (ctx) => {
    const missing = redisMissing();
    if (missing) ctx.skip(missing);
    const target = new URL(redisUrlOrUndefined()!);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    await proxy.start();
    try {
      const l = new BottleneckRateLimiter(viaProxy(redisUrlOrUndefined()!, proxy), prefix(), 300);
      open.push(l);
      const spec = perSecond('n:+5', 1000);
      expect((await l.take(spec, 1)).granted).toBe(1);
      proxy.hang();
      const t0 = Date.now();
      await expect(l.take(spec, 1)).rejects.toThrow();
      expect(Date.now() - t0).toBeLessThan(2_000);
      proxy.up();
      proxy.cut();
      let granted = 0;
      await waitFor(
        () => granted === 1,
        10_000,
        'a take after the connection came back',
        async () => {
          granted = await l.take(spec, 1).then(
            (g) => g.granted,
            () => 0,
          );
        },
      );
    } finally {
      await proxy.stop();
    }
  });

  it('rejects takes while Redis cannot be reached (the policy defers)', async () => {
    const l = new BottleneckRateLimiter('redis://127.0.0.1:1', prefix(), 300);
    open.push(l);
    // Bottleneck alone would wait forever for the connection; the limiter answers in its time.
    await expect(l.take(perSecond('n:+4', 1), 1)).rejects.toThrow(/in time/);
  });
});
