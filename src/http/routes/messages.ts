import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.ts';
import { toE164 } from '../../numbers/phone.ts';
import { encodeMessage } from '../../smpp/encoding/segment.ts';
import {
  AcceptedBody,
  BatchBody,
  BatchResult,
  EncodeBody,
  EncodeResult,
  ListQuery,
  MessageBody,
  MessageDetailBody,
  SendBody,
} from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const err = {
  400: { $ref: 'Error#' },
  401: { $ref: 'Error#' },
  404: { $ref: 'Error#' },
  409: { $ref: 'Error#' },
  503: { $ref: 'Error#' },
};

function badRequest(code: string, message: string): AppError {
  return new AppError(code, message, { httpStatus: 400, action: 'fix-request' });
}

function checkMetadata(m: Record<string, unknown> | undefined): void {
  if (m !== undefined && JSON.stringify(m).length > 4096)
    throw badRequest('METADATA_TOO_LARGE', 'metadata must be at most 4 KB of JSON');
}

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

function decodeCursor(c: string): { createdAt: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(at);
    if (Number.isNaN(createdAt.getTime()) || !UUID.test(id)) throw new Error('bad');
    return { createdAt, id };
  } catch {
    throw badRequest('INVALID_CURSOR', 'cursor is not one this API returned');
  }
}

function parseDate(name: string, v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime()))
    throw badRequest('VALIDATION_FAILED', `${name} must be an ISO 8601 date-time`);
  return d;
}

/** /v1/messages: send one, send a batch, read one, list, and the encoding dry-run. Account-scoped. */
export function registerMessageRoutes(app: App, deps: HttpDeps): void {
  app.post(
    '/v1/messages',
    {
      schema: {
        summary: 'Send one SMS',
        body: SendBody,
        headers: Type.Object({
          'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
        }),
        response: { 202: AcceptedBody, ...err },
      },
    },
    async (req, reply) => {
      checkMetadata(req.body.metadata);
      const { accepted, replayed } = await deps.accept.acceptOne(
        req.accountId,
        req.body,
        req.headers['idempotency-key'],
      );
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(202).send(accepted);
    },
  );

  app.post(
    '/v1/messages/batch',
    {
      schema: {
        summary: 'Send up to 1,000 SMS in one transaction; each item succeeds or fails on its own',
        body: BatchBody,
        response: { 200: BatchResult, ...err },
      },
    },
    async (req) => {
      const results = await deps.accept.acceptBatch(
        req.accountId,
        req.body.messages.map((m) => {
          checkMetadata(m.metadata);
          return m;
        }),
      );
      let accepted = 0;
      const out = results.map((r) => {
        if ('accepted' in r) {
          accepted++;
          return { index: r.index, ...r.accepted };
        }
        return { index: r.index, error: r.error };
      });
      return { accepted, rejected: out.length - accepted, results: out };
    },
  );

  app.post(
    '/v1/messages/encode',
    {
      schema: {
        summary: 'Dry-run: encoding, segment count, parts and the characters that force UCS-2',
        body: EncodeBody,
        response: { 200: EncodeResult, ...err },
      },
    },
    async (req) => {
      let m: ReturnType<typeof encodeMessage>;
      try {
        m = encodeMessage(req.body.body, { allowLatin1: req.body.allowLatin1 ?? false });
      } catch {
        throw badRequest('BODY_TOO_LONG', 'body needs more than 255 segments');
      }
      return {
        encoding: m.encoding,
        dataCoding: m.dataCoding,
        segments: m.segmentCount,
        parts: m.parts.map((p) => ({ text: p.text, octets: p.bytes.length })),
        charactersForcingUcs2: m.encoding === 'ucs2' ? m.nonGsmCharacters : [],
      };
    },
  );

  app.get(
    '/v1/messages/:id',
    {
      schema: {
        summary: 'One message with its parts and status history',
        params: Type.Object({ id: Type.String() }),
        response: { 200: MessageDetailBody, ...err },
      },
    },
    async (req) => {
      const m = UUID.test(req.params.id) ? await deps.messages.get(req.accountId, req.params.id) : undefined;
      if (!m) throw new AppError('NOT_FOUND', 'no such message', { httpStatus: 404, action: 'fix-request' });
      return m;
    },
  );

  app.get(
    '/v1/messages',
    {
      schema: {
        summary: 'Messages, newest first, filtered, with cursor pagination',
        querystring: ListQuery,
        response: {
          200: Type.Object({
            data: Type.Array(MessageBody),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...err,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = q.limit ?? 50;
      const data = await deps.messages.list(req.accountId, {
        status: q.status,
        from:
          q.from === undefined
            ? undefined
            : /^\d{3,8}$/.test(q.from)
              ? q.from
              : toE164(q.from, deps.defaultRegion, 'INVALID_FROM_NUMBER'),
        to: q.to === undefined ? undefined : toE164(q.to, deps.defaultRegion, 'INVALID_TO_NUMBER'),
        createdAfter: parseDate('createdAfter', q.createdAfter),
        createdBefore: parseDate('createdBefore', q.createdBefore),
        cursor: q.cursor ? decodeCursor(q.cursor) : undefined,
        limit,
      });
      const last = data[data.length - 1];
      return {
        data,
        nextCursor: data.length === limit && last ? encodeCursor(last.createdAt, last.id) : null,
      };
    },
  );

  app.get(
    '/v1/numbers',
    {
      schema: {
        summary: "The account's sending numbers",
        response: {
          200: Type.Object({ data: Type.Array(Type.Object({ number: Type.String(), type: Type.String() })) }),
        },
      },
    },
    async (req) => ({
      data: (await deps.accounts.listNumbers(req.accountId)).map((n) => ({ number: n.e164, type: n.type })),
    }),
  );
}
