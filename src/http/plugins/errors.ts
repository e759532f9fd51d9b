import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../../errors/app-error.ts';
import { ERROR_CATALOG } from '../../errors/catalog.ts';
import { type Logger, LogThrottle, serializeError } from '../../logger.ts';
import { classifyDbError } from '../../store/db-errors.ts';
import type { App } from '../server.ts';

/** The one error shape clients see: `{error: {code, message, action}}`, never a stack. */
export function errorReply(code: ErrorCode, message?: string, details?: unknown) {
  const d = ERROR_CATALOG[code];
  const error: Record<string, unknown> = { code, message: message ?? d.message, action: d.action };
  if (details !== undefined) error.details = details;
  return { error };
}

/** Fastify's own errors (parser, limits, routing) mapped to catalog codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
};

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 408:
      return 'REQUEST_TIMEOUT';
    case 413:
      return 'BODY_TOO_LARGE';
    case 414:
      return 'URI_TOO_LONG';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 431:
      return 'HEADERS_TOO_LARGE';
    default:
      return 'BAD_REQUEST';
  }
}

/** Maps anything thrown while serving a request to an AppError (500 INTERNAL when nothing fits). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as FastifyError & { validation?: unknown };
  if (e?.validation) {
    // Name the unexpected property too (Ajv's message says only that there is one).
    const extra = (e.validation as Array<{ params?: { additionalProperty?: unknown } }>)
      .map((x) => x.params?.additionalProperty)
      .filter((x): x is string => typeof x === 'string')
      .map((x) => x.slice(0, 64));
    return new AppError(
      'VALIDATION_FAILED',
      extra.length > 0 ? `${e.message} (${extra.join(', ')})` : e.message,
    );
  }
  if (e?.code && FASTIFY_CODES[e.code]) return new AppError(FASTIFY_CODES[e.code]!, e.message);
  if (e instanceof SyntaxError || e?.name === 'SyntaxError') return new AppError('INVALID_JSON');
  if (e instanceof RangeError) return new AppError('TOO_DEEPLY_NESTED');
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return new AppError(codeForStatus(e.statusCode), e.message);
  const kind = classifyDbError(err);
  if (kind === 'unavailable') return new AppError('DATABASE_UNAVAILABLE', undefined, { cause: err });
  if (kind === 'data') return new AppError('UNSTORABLE_INPUT', undefined, { cause: err });
  return new AppError('INTERNAL', undefined, { cause: err });
}

/** Raw HTTP response for errors found before fastify has a request (malformed HTTP, timeouts, header limits). */
function rawResponse(status: number, code: ErrorCode): string {
  const body = JSON.stringify(errorReply(code));
  const reason =
    {
      400: 'Bad Request',
      408: 'Request Timeout',
      413: 'Payload Too Large',
      414: 'URI Too Long',
      431: 'Request Header Fields Too Large',
    }[status] ?? 'Bad Request';
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * fastify's clientErrorHandler: the HTTP parser's errors (bad request line, header overflow,
 * request timeout) answered in our shape, then the connection closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  let status = 400;
  let code: ErrorCode = 'BAD_REQUEST';
  if (err.code === 'HPE_HEADER_OVERFLOW') [status, code] = [431, 'HEADERS_TOO_LARGE'];
  else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT')
    [status, code] = [408, 'REQUEST_TIMEOUT'];
  else if (err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') [status, code] = [413, 'BODY_TOO_LARGE'];
  socket.end(rawResponse(status, code));
}

/** Longest request target we read at all. */
export const MAX_URL_LENGTH = 4096;

/**
 * Error handling for the whole API: AppErrors in the catalog's shape; fastify's validation,
 * parser and limit errors mapped to catalog codes; database outages 503; anything else 500
 * INTERNAL, logged once without a stack at error level (its stack at debug). Unavailability is
 * logged at most once a second.
 */
export function registerErrorHandling(app: App, log: Logger): void {
  const throttle = new LogThrottle(1_000);
  app.setErrorHandler((err, req, reply) => {
    const e = toAppError(err);
    if (e.httpStatus >= 500) {
      const cause = e.cause ?? err;
      if (e.code === 'INTERNAL') {
        req.log.error({ err: serializeError(cause), route: req.routeOptions.url }, 'request failed');
        req.log.debug({ stack: (cause as Error)?.stack }, 'request failure stack');
      } else {
        const suppressed = throttle.take(e.code);
        if (suppressed !== undefined)
          log.warn(
            { code: e.code, err: serializeError(cause), suppressed },
            'request refused: service unavailable',
          );
      }
    }
    const retryAfter = e.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    return reply.status(e.httpStatus).send(errorReply(e.code, e.message, e.details));
  });
  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) =>
    reply
      .status(404)
      .send(errorReply('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`)),
  );
  app.addHook('onRequest', async (req) => {
    if (req.url.length > MAX_URL_LENGTH) throw new AppError('URI_TOO_LONG');
  });
}
