import type { Logger } from '../logger.ts';
import type { EventBus, WriterName } from '../messaging/events.ts';
import { classifyDbError } from './db-errors.ts';

/**
 * Logs failed batched writes (every writer reports them as `db.write` events), at most once per
 * `everyMs` per writer and kind, with how many failed since: an unavailable database is a warning
 * (callers retry; the SMSC resends), anything else an error (a fault of ours, e.g. an SQL one, that
 * no retry fixes). Without this a receipt write failing on every attempt left no trace above debug.
 */
export function logWriteFailures(bus: EventBus, log: Logger, everyMs = 10_000): () => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  return bus.subscribe('db.write', (evs) => {
    for (const e of evs) {
      if (e.ok) continue;
      const kind = classifyDbError(e.error);
      const key = `${e.writer} ${kind}`;
      const now = Date.now();
      const l = last.get(key);
      if (l && now - l.at < everyMs) {
        l.suppressed++;
        continue;
      }
      last.set(key, { at: now, suppressed: 0 });
      const err = e.error as { message?: string; code?: string } | undefined;
      const fields = {
        writer: e.writer as WriterName,
        items: e.items,
        kind,
        code: err?.code,
        // A data error's message may quote the values (customer data): its code says enough.
        err: kind === 'data' ? undefined : err?.message,
        failedSinceLastLog: l?.suppressed ?? 0,
      };
      if (kind === 'unavailable') log.warn(fields, 'database write failed; retried');
      else log.error(fields, 'database write failed');
    }
  });
}
