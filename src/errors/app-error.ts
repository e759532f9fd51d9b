/** What a caller should do about an error; stable across releases. */
export type ErrorAction = 'retry' | 'permanent' | 'throttle' | 'rebind' | 'fix-request' | 'fix-config';

/**
 * The one error type the gateway throws across module boundaries.
 * `code` is stable and machine-readable; `httpStatus` is what the HTTP layer answers;
 * `action` tells the caller whether trying again can help. Never carries a stack to clients.
 */
export class AppError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly action: ErrorAction;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    opts: {
      httpStatus?: number;
      action?: ErrorAction;
      details?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.httpStatus = opts.httpStatus ?? 500;
    this.action = opts.action ?? 'permanent';
    this.details = opts.details;
  }

  /** The shape clients see: no stack, no cause chain. */
  toJSON(): { code: string; message: string; action: ErrorAction; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, action: this.action, details: this.details }
      : { code: this.code, message: this.message, action: this.action };
  }
}

/** Configuration that fails validation at start; names the bad field. */
export class ConfigError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CONFIG_INVALID', message, { httpStatus: 500, action: 'fix-config', details });
    this.name = 'ConfigError';
  }
}

/** A peer violated SMPP framing or sent an undecodable PDU; the session must be destroyed. */
export class SmppProtocolError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('SMPP_PROTOCOL_ERROR', message, { httpStatus: 502, action: 'rebind', cause });
    this.name = 'SmppProtocolError';
  }
}

/** The SMSC refused our bind (bad credentials, already bound, ...). */
export class SmppBindError extends AppError {
  readonly commandStatus: number;
  constructor(message: string, commandStatus: number) {
    super('SMPP_BIND_REJECTED', message, {
      httpStatus: 502,
      action: 'fix-config',
      details: { commandStatus },
    });
    this.name = 'SmppBindError';
    this.commandStatus = commandStatus;
  }
}
