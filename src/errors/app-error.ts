import { ERROR_CATALOG, type ErrorAction, type ErrorCode } from './catalog.ts';

export type { ErrorAction, ErrorCode };

/**
 * The one error type the gateway throws across module boundaries. `code` comes from the catalog
 * (src/errors/catalog.ts), which fixes its HTTP status and the caller's action. Never carries a
 * stack or a cause to clients.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly action: ErrorAction;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    opts: { details?: Record<string, unknown> | undefined; cause?: unknown } = {},
  ) {
    const d = ERROR_CATALOG[code];
    super(message ?? d.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.httpStatus = d.status;
    this.action = d.action;
    this.details = opts.details;
  }

  /** The shape clients see: no stack, no cause chain. */
  toJSON(): { code: string; message: string; action: ErrorAction; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, action: this.action, details: this.details }
      : { code: this.code, message: this.message, action: this.action };
  }
}

/** Shorthand for a 4xx/5xx AppError from the catalog. */
export function appError(code: ErrorCode, message?: string, details?: Record<string, unknown>): AppError {
  return new AppError(code, message, { details });
}

/** Configuration that fails validation at start; names the bad field. */
export class ConfigError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CONFIG_INVALID', message, { details });
    this.name = 'ConfigError';
  }
}

/**
 * A peer violated SMPP framing or sent a PDU we cannot read. `commandStatus` is what to answer
 * when the frame itself was intact (the session survives); framing errors destroy the session.
 */
export class SmppProtocolError extends AppError {
  readonly commandStatus: number | undefined;
  constructor(message: string, cause?: unknown, commandStatus?: number) {
    super('SMPP_PROTOCOL_ERROR', message, { cause });
    this.name = 'SmppProtocolError';
    this.commandStatus = commandStatus;
  }
}

/** The SMSC refused our bind (bad credentials, already bound, ...). */
export class SmppBindError extends AppError {
  readonly commandStatus: number;
  constructor(message: string, commandStatus: number) {
    super('SMPP_BIND_REJECTED', message, { details: { commandStatus } });
    this.name = 'SmppBindError';
    this.commandStatus = commandStatus;
  }
}
