import { type Logger, pino } from 'pino';

export type { Logger };

/** Paths redacted from every log line: credentials and message bodies never reach logs. */
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
];

/** Builds the process logger (pino JSON). `level: 'silent'` for tests that do not read logs. */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: opts.name ?? 'parley',
    level: opts.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  });
}
