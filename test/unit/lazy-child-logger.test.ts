import { describe, expect, it } from 'vitest';
import { LazyChildLogger, lazyChildLoggerFactory } from '../../src/http/lazy-child-logger.ts';
import { createLogger } from '../../src/logger.ts';

/** The gateway's logger (same redaction) writing into an array. */
function createLoggerTo(level: string) {
  const out: string[] = [];
  const log = createLogger({ level, destination: { write: (s: string) => void out.push(s) } });
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('lazy request logger', () => {
  it('logs like a pino child (bindings, redaction, level) and makes the child only when a line is written', () => {
    const { log, lines } = createLoggerTo('info');
    let children = 0;
    const parent = new Proxy(log, {
      get(t, k, r) {
        if (k === 'child') return (...a: Parameters<typeof log.child>) => (children++, t.child(...a));
        return Reflect.get(t, k, r);
      },
    });
    const l = lazyChildLoggerFactory(parent, { reqId: 'req-1' }, {});
    l.debug('below the level');
    l.trace({ body: 'secret' }, 'below too');
    expect(children).toBe(0);
    expect(l.level).toBe('info');
    l.info({ body: 'secret text', n: 1 }, 'hello');
    l.error(new Error('boom'));
    expect(children).toBe(1);
    expect(lines()).toEqual([
      expect.objectContaining({ reqId: 'req-1', body: '[redacted]', n: 1, msg: 'hello', level: 30 }),
      expect.objectContaining({ reqId: 'req-1', level: 50 }),
    ]);
    expect(JSON.stringify(lines())).not.toContain('secret');
  });

  it('applies a route log level given as an option, and passes children through', () => {
    const { log, lines } = createLoggerTo('info');
    const l = new LazyChildLogger(log, { reqId: 'r2' }, { level: 'debug' });
    expect(l.isLevelEnabled('debug')).toBe(true);
    l.debug('shown');
    l.child({ sub: 1 }).info('nested');
    expect(lines().map((x) => [x.reqId, x.msg, x.sub])).toEqual([
      ['r2', 'shown', undefined],
      ['r2', 'nested', 1],
    ]);
  });
});
