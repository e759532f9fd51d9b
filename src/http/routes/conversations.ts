import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.ts';
import { toE164 } from '../../numbers/phone.ts';
import { db } from '../../store/db-errors.ts';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { AcceptedBody, ERROR_RESPONSES as err, IdParams, SendBody } from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';
import { checkMetadata } from './messages.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

const ConversationBody = Type.Object({
  id: Type.String(),
  contact: Type.Object({
    id: Type.String(),
    number: Type.String(),
    name: Nullable(Type.String()),
    optedOut: Type.Boolean(),
  }),
  lastMessageAt: Type.String(),
  lastDirection: Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]),
  lastPreview: Type.String(),
  lastNumber: Nullable(Type.String()),
  unreadCount: Type.Integer(),
  needsReview: Type.Boolean({ description: 'a reply might be an opt-out: a person should look' }),
});

const ThreadMessageBody = Type.Object({
  id: Type.String(),
  direction: Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]),
  from: Type.String(),
  to: Type.String(),
  body: Type.String(),
  status: Nullable(Type.String()),
  at: Type.String(),
});

const Page = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
};

const ListQuery = Type.Object(
  {
    unread: Type.Optional(Type.Boolean()),
    number: Type.Optional(
      Type.String({ minLength: 1, maxLength: 32, description: 'threads last using this number of ours' }),
    ),
    ...Page,
  },
  { additionalProperties: false },
);

const ReplyBody = Type.Object(
  {
    body: Type.String({ maxLength: 10_000 }),
    from: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 32,
        description:
          "default: the contact's assigned number, else the number they last texted, else the user's default, else the account's",
      }),
    ),
    userId: SendBody.properties.userId,
    statusCallback: Type.Optional(Type.String({ maxLength: 2048 })),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

/** /v1/conversations: threads by last activity, their messages both ways, replies, read marks. */
export function registerConversationRoutes(app: App, deps: HttpDeps): void {
  const config = { auth: 'account' as const };
  const find = async (accountId: string, id: string) => {
    const c = await db(deps.conversations.get(accountId, id));
    if (!c) throw new AppError('NOT_FOUND', 'no such conversation');
    return c;
  };

  app.get(
    '/v1/conversations',
    {
      config,
      schema: {
        summary: 'Conversations, most recent activity first, with the account-wide unread total',
        querystring: ListQuery,
        response: {
          200: Type.Object({
            data: Type.Array(ConversationBody),
            unreadTotal: Type.Integer(),
            nextCursor: Nullable(Type.String()),
          }),
          ...err,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = q.limit ?? 50;
      const before = q.cursor ? decodeCursor(q.cursor) : undefined;
      const [data, unreadTotal] = await Promise.all([
        db(
          deps.conversations.list(req.accountId, {
            unread: q.unread,
            number:
              q.number === undefined
                ? undefined
                : toE164(q.number, deps.defaultRegion, 'INVALID_PHONE_NUMBER'),
            limit,
            before: before ? { at: before.createdAt.toISOString(), id: before.id } : undefined,
          }),
        ),
        db(deps.conversations.unreadTotal(req.accountId)),
      ]);
      const last = data[data.length - 1];
      return {
        data,
        unreadTotal,
        nextCursor: data.length === limit && last ? encodeCursor(last.lastMessageAt, last.id) : null,
      };
    },
  );

  app.get(
    '/v1/conversations/:id',
    {
      config,
      schema: { summary: 'One conversation', params: IdParams, response: { 200: ConversationBody, ...err } },
    },
    async (req) => find(req.accountId, req.params.id),
  );

  app.get(
    '/v1/conversations/:id/messages',
    {
      config,
      schema: {
        summary:
          'The thread: both directions, newest first, each with the number it used (and status, outbound)',
        params: IdParams,
        querystring: Type.Object(Page, { additionalProperties: false }),
        response: {
          200: Type.Object({ data: Type.Array(ThreadMessageBody), nextCursor: Nullable(Type.String()) }),
          ...err,
        },
      },
    },
    async (req) => {
      const c = await find(req.accountId, req.params.id);
      const limit = req.query.limit ?? 50;
      const before = req.query.cursor ? decodeCursor(req.query.cursor) : undefined;
      const data = await db(
        deps.conversations.messages(
          req.accountId,
          c.contact.number,
          limit,
          before ? { at: before.createdAt.toISOString(), id: before.id } : undefined,
        ),
      );
      const last = data[data.length - 1];
      return { data, nextCursor: data.length === limit && last ? encodeCursor(last.at, last.id) : null };
    },
  );

  app.post(
    '/v1/conversations/:id/messages',
    {
      config,
      schema: {
        summary:
          'Send in the thread: from the given number, else by the sender rule (assigned, number the contact last texted, user default, account default); every compliance rule applies',
        params: IdParams,
        body: ReplyBody,
        response: { 202: AcceptedBody, ...err },
      },
    },
    async (req, reply) => {
      checkMetadata(req.body.metadata);
      const c = await find(req.accountId, req.params.id);
      const r = await deps.accept.acceptOne(req.accountId, { ...req.body, to: c.contact.number });
      await db(deps.conversations.touchOutbound(req.accountId, c.id, r.accepted.from, req.body.body));
      return reply.status(202).send(r.accepted);
    },
  );

  app.post(
    '/v1/conversations/:id/read',
    {
      config,
      schema: {
        summary: 'Mark the thread read (unread count to 0)',
        params: IdParams,
        response: { 204: Type.Null(), ...err },
      },
    },
    async (req, reply) => {
      if (!(await db(deps.conversations.markRead(req.accountId, req.params.id))))
        throw new AppError('NOT_FOUND', 'no such conversation');
      return reply.status(204).send(null);
    },
  );
}
