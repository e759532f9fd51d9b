import { describe, expect, it, vi } from 'vitest';
import { LocalBus } from '../../src/messaging/events.ts';
import { logWriteFailures } from '../../src/store/write-failure-log.ts';

const fakeLog = () => {
  const lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) =>
    lines.push({ level, fields, msg });
  return { lines, log: { warn: at('warn'), error: at('error') } as never };
};

describe('failed batched writes are logged', () => {
  // Regression (issue 9): an SQL error in the receipt write failed every receipt (the SMSC resent
  // them 1,600 times in a minute) and nothing was logged above debug.
  it('an SQL fault is an error, an unavailable database a warning, each at most once per interval', () => {
    vi.useFakeTimers();
    try {
      const bus = new LocalBus();
      const { lines, log } = fakeLog();
      logWriteFailures(bus, log, 10_000);
      const sqlFault = Object.assign(new Error('each UNION query must have the same number of columns'), {
        code: '42601',
      });
      const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      const fail = (error: unknown) =>
        bus.publish('db.write', [{ writer: 'receipts', items: 3, seconds: 0.01, ok: false, error }]);
      for (let i = 0; i < 50; i++) fail(sqlFault);
      fail(down);
      bus.publish('db.write', [{ writer: 'receipts', items: 3, seconds: 0.01, ok: true }]);
      expect(lines.map((l) => [l.level, l.fields.kind, l.fields.code])).toEqual([
        ['error', 'other', '42601'],
        ['warn', 'unavailable', 'ECONNREFUSED'],
      ]);
      vi.advanceTimersByTime(10_001);
      fail(sqlFault);
      expect(lines[2]).toMatchObject({
        level: 'error',
        fields: { failedSinceLastLog: 49, writer: 'receipts' },
      });
      // A data error's message may quote customer data: only its code is logged.
      fail(Object.assign(new Error('invalid input syntax for type json: "secret body"'), { code: '22P02' }));
      expect(lines[3]!.fields).toMatchObject({ kind: 'data', code: '22P02', err: undefined });
      expect(JSON.stringify(lines)).not.toContain('secret body');
    } finally {
      vi.useRealTimers();
    }
  });
});
