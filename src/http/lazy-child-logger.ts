import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level, LevelWithSilent } from 'pino';

type LogFn = FastifyBaseLogger['info'];
const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/**
 * A request's logger that becomes a real pino child only when something is logged through it.
 * Fastify makes a child per request; pino then runs every binding through the redaction paths
 * (the wildcard ones visit each value), about 3.5 KB of garbage per request that nothing reads
 * when the request logs nothing — 4 % of the gateway's allocation at 2,000 requests/s, and the
 * young-generation collections that pause the accept path. A log call below the level creates
 * nothing. Never throws.
 */
export class LazyChildLogger {
  #real: FastifyBaseLogger | undefined;
  declare fatal: LogFn;
  declare error: LogFn;
  declare warn: LogFn;
  declare info: LogFn;
  declare debug: LogFn;
  declare trace: LogFn;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly opts: ChildLoggerOptions,
  ) {}

  get real(): FastifyBaseLogger {
    this.#real ??= this.parent.child(this.bindings, this.opts);
    return this.#real;
  }

  get level(): LevelWithSilent | string {
    return this.#real?.level ?? this.opts.level ?? this.parent.level;
  }

  set level(l: LevelWithSilent | string) {
    this.real.level = l;
  }

  silent(): void {}

  child(bindings: Bindings, opts?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, opts);
  }

  isLevelEnabled(level: string): boolean {
    // A route's own log level (fastify passes it as opts.level) is the child's to apply.
    const owner = this.#real !== undefined || this.opts.level !== undefined ? this.real : this.parent;
    return (owner as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled(level);
  }
}

for (const level of LEVELS) {
  Object.defineProperty(LazyChildLogger.prototype, level, {
    value(this: LazyChildLogger, ...args: unknown[]) {
      if (!this.isLevelEnabled(level)) return;
      (this.real[level] as (...a: unknown[]) => void)(...args);
    },
  });
}

/** Fastify's `childLoggerFactory`: a lazy child per request (see LazyChildLogger). */
export function lazyChildLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  opts: ChildLoggerOptions,
): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, opts) as unknown as FastifyBaseLogger;
}
