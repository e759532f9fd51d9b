import { Type } from '@sinclair/typebox';
import { withFooter } from '../../compliance/settings.ts';
import { AppError } from '../../errors/app-error.ts';
import { parseDateTime } from '../../messaging/compose.ts';
import { LINK_CODE_LENGTH, shortenLinks } from '../../messaging/links.ts';
import { toE164 } from '../../numbers/phone.ts';
import { encodeMessage } from '../../smpp/encoding/segment.ts';
import { dbErrorToAppError } from '../../store/db-errors.ts';
import { decodeCursor, encodeCursor, UUID } from '../cursor.ts';
import { findUnstorableText, jsonDepth } from '../plugins/sanitize.ts';
import {
  AcceptedBody,
  BatchBody,
  BatchResult,
  EncodeBody,
  EncodeResult,
  ERROR_RESPONSES as err,
  ListQuery,
  MessageBody,
  MessageDetailBody,
  SendBody,
} from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';

const account = { auth: 'account' as const };

/** Metadata is echoed in callbacks: at most 4 KB of JSON, nested at most 8 deep. */
export function checkMetadata(m: Record<string, unknown> | undefined): void {
  if (m === undefined) return;
  if (jsonDepth(m, 8) > 8)
    throw new AppError('METADATA_TOO_LARGE', 'metadata may be nested at most 8 levels deep');
  if (JSON.stringify(m).length > 4096)
    throw new AppError('METADATA_TOO_LARGE', 'metadata must be at most 4 KB of JSON');
}

function parseDate(name: string, v: string | undefined): Date | undefined {
  return v === undefined ? undefined : parseDateTime(name, v);
}

/** /v1/messages: send one, send a batch, read one, list, and the encoding dry-run. Account-scoped. */
export function registerMessageRoutes(app: App, deps: HttpDeps): void {
  app.post(
    '/v1/messages',
    {
      config: account,
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
      config: { ...account, sanitizeItems: 'messages' },
      schema: {
        summary: 'Send up to 1,000 SMS in one transaction; each item succeeds or fails on its own',
        body: BatchBody,
        response: { 200: BatchResult, ...err },
      },
    },
    async (req) => {
      // Each item is checked on its own: one bad item gets its error, its siblings go on.
      const results = await deps.accept.acceptBatch(req.accountId, req.body.messages, (m) => {
        const bad = findUnstorableText(m);
        if (bad !== undefined)
          throw new AppError('INVALID_CHARACTERS', `field ${bad} holds a NUL (U+0000) or a lone surrogate`);
        checkMetadata(m.metadata);
      });
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
      config: account,
      schema: {
        summary: 'Dry-run: encoding, segment count, parts and the characters that force UCS-2',
        body: EncodeBody,
        response: { 200: EncodeResult, ...err },
      },
    },
    async (req) => {
      const encode = (body: string) => {
        try {
          return encodeMessage(body, { allowLatin1: req.body.allowLatin1 ?? false });
        } catch {
          throw new AppError('BODY_TOO_LONG', 'body needs more than 255 segments');
        }
      };
      const settings = await deps.complianceSettings.get([req.accountId]).catch((e: unknown) => {
        throw dbErrorToAppError(e);
      });
      const s = settings.get(req.accountId)!;
      // Shortened as the send would (codes have a fixed length, so the count is exact).
      const body =
        (req.body.trackLinks ?? s.trackLinks)
          ? shortenLinks(req.body.body, deps.linkBaseUrl, () => '0'.repeat(LINK_CODE_LENGTH)).body
          : req.body.body;
      const plain = encode(body);
      let m = plain;
      let footer: { applies: boolean; addsSegments: number } | undefined;
      if (req.body.to !== undefined) {
        const to = toE164(req.body.to, deps.defaultRegion, 'INVALID_TO_NUMBER');
        const taken = await deps.contacts.hasFirstMessage(req.accountId, to).catch((e: unknown) => {
          throw dbErrorToAppError(e);
        });
        const applies = s.footer.enabled && !taken;
        if (applies) m = encode(withFooter(body, s.footer.text));
        footer = { applies, addsSegments: m.segmentCount - plain.segmentCount };
      }
      return {
        encoding: m.encoding,
        dataCoding: m.dataCoding,
        segments: m.segmentCount,
        parts: m.parts.map((p) => ({ text: p.text, octets: p.bytes.length })),
        charactersForcingUcs2: m.encoding === 'ucs2' ? m.nonGsmCharacters : [],
        ...(footer ? { footer } : {}),
      };
    },
  );

  app.get(
    '/v1/messages/:id',
    {
      config: account,
      schema: {
        summary: 'One message with its parts and status history',
        params: Type.Object({ id: Type.String() }),
        response: { 200: MessageDetailBody, ...err },
      },
    },
    async (req) => {
      let m: Awaited<ReturnType<HttpDeps['messages']['get']>>;
      try {
        m = UUID.test(req.params.id) ? await deps.messages.get(req.accountId, req.params.id) : undefined;
      } catch (e) {
        throw dbErrorToAppError(e);
      }
      if (!m) throw new AppError('NOT_FOUND', 'no such message');
      return m;
    },
  );

  app.get(
    '/v1/messages',
    {
      config: account,
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
      const filter = {
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
      };
      const data = await deps.messages.list(req.accountId, filter).catch((e: unknown) => {
        throw dbErrorToAppError(e);
      });
      const last = data[data.length - 1];
      return {
        data,
        nextCursor: data.length === limit && last ? encodeCursor(last.createdAt, last.id) : null,
      };
    },
  );
}
