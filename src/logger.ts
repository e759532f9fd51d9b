import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/** Paths redacted from every log line: credentials, message bodies and customer metadata never reach logs. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'body',
  '*.body',
  'text',
  '*.text',
  'shortMessage',
  '*.shortMessage',
  'metadata',
  '*.metadata',
  'statusCallback',
  '*.statusCallback',
  'url',
  '*.url',
  'webhookSecret',
  '*.webhookSecret',
];

/** Fields of driver errors that can carry row values or statement text (pg's `where`, `detail`, ...). */
const UNSAFE_ERROR_FIELDS = new Set([
  'where',
  'detail',
  'hint',
  'internalQuery',
  'internalPosition',
  'parameters',
  'query',
  'stack',
  'cause',
]);

/**
 * Error serializer: type, message (truncated), code and SQLSTATE-style fields only; never the
 * stack (it is logged at debug by whoever wants it), never a driver's `where`/`detail`, which
 * quote the values of the row that failed.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err).slice(0, 300) };
  const out: Record<string, unknown> = { type: err.name, message: err.message.slice(0, 300) };
  for (const [k, v] of Object.entries(err)) {
    if (UNSAFE_ERROR_FIELDS.has(k) || k === 'message' || k === 'name') continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
      out[k] = typeof v === 'string' ? v.slice(0, 200) : v;
  }
  return out;
}

/** Builds the process logger (pino JSON). `level: 'silent'` for tests that do not read logs. */
export function createLogger(
  opts: { level?: string; name?: string; destination?: DestinationStream } = {},
): Logger {
  const options = {
    name: opts.name ?? 'parley',
    level: opts.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/**
 * Logs a recurring condition at most once per `intervalMs` per key, with how many were
 * suppressed in between (a database outage must not write a line per request). Bounded keys.
 */
export class LogThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly intervalMs = 1_000) {}

  /** Returns the suppressed count to log with, or undefined when this one is to be suppressed. */
  take(key: string, now = Date.now()): number | undefined {
    const e = this.last.get(key);
    if (e && now - e.at < this.intervalMs) {
      e.suppressed++;
      return undefined;
    }
    if (!e && this.last.size >= 1_000) this.last.clear();
    const suppressed = e?.suppressed ?? 0;
    this.last.set(key, { at: now, suppressed: 0 });
    return suppressed;
  }
}
