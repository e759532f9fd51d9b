import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.ts';
import { chooseSender, SENDER_SOURCES, type SenderSource } from '../../messaging/sender.ts';
import { toE164 } from '../../numbers/phone.ts';
import { db } from '../../store/db-errors.ts';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { ERROR_RESPONSES as err, IdParams, SendBody } from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Number164 = Type.String({ minLength: 1, maxLength: 32, description: "one of the account's numbers" });
const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$' });
const Name = Type.String({ minLength: 1, maxLength: 200 });

const UserBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  defaultNumber: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const NewUser = Type.Object(
  { name: Name, email: Type.Optional(Email), defaultNumber: Type.Optional(Number164) },
  { additionalProperties: false },
);
const UserPatch = Type.Object(
  {
    name: Type.Optional(Name),
    email: Type.Optional(Nullable(Email)),
    defaultNumber: Type.Optional(Nullable(Number164)),
  },
  { additionalProperties: false },
);
const UserList = Type.Object({
  data: Type.Array(UserBody),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
const SendingSettings = Type.Object(
  {
    defaultNumber: Type.Union([Number164, Type.Null()], {
      description: 'the last choice of the sender rule; null: a send without a sender fails NO_SENDER_NUMBER',
    }),
  },
  { additionalProperties: false },
);
const Source = Type.Union(SENDER_SOURCES.map((s) => Type.Literal(s)));
const SenderChoice = Type.Object({
  selected: Type.Union([
    Type.Object({ number: Type.String(), type: Type.String(), source: Source }),
    Type.Null(),
  ]),
  candidates: Type.Array(
    Type.Object({
      number: Type.String(),
      type: Type.String(),
      sources: Type.Array(Source, { description: 'which steps of the sender rule name this number' }),
    }),
  ),
});

/**
 * The E.164 form of `n` when it is one of the account's numbers. Throws INVALID_PHONE_NUMBER (400)
 * or NUMBER_NOT_FOUND (404).
 */
export async function accountNumber(deps: HttpDeps, accountId: string, n: string): Promise<string> {
  const e164 = toE164(n, deps.defaultRegion, 'INVALID_PHONE_NUMBER');
  const list = await db(deps.accounts.listNumbers(accountId));
  if (!list.some((x) => x.e164 === e164))
    throw new AppError('NUMBER_NOT_FOUND', `${e164} is not one of this account's numbers`);
  return e164;
}

/** Team members (/v1/users), the account's default number, and the sender pre-selection. */
export function registerUserRoutes(app: App, deps: HttpDeps): void {
  const config = { auth: 'account' as const };
  const number = (accountId: string, n: string | null | undefined) =>
    n === undefined || n === null ? Promise.resolve(n) : accountNumber(deps, accountId, n);

  app.get(
    '/v1/users',
    {
      config,
      schema: {
        summary: 'Team members, newest first',
        querystring: ListQuery,
        response: { 200: UserList, ...err },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 100;
      const before = req.query.cursor ? decodeCursor(req.query.cursor) : undefined;
      const data = await db(
        deps.senders.listUsers(req.accountId, {
          limit,
          before: before && { at: before.createdAt.toISOString(), id: before.id },
        }),
      );
      const last = data.at(-1);
      return {
        data,
        nextCursor: data.length === limit && last ? encodeCursor(last.createdAt, last.id) : null,
      };
    },
  );
  app.post(
    '/v1/users',
    {
      config,
      schema: {
        summary:
          'Add a team member, optionally with a default number (the sender rule uses it for their sends)',
        body: NewUser,
        response: { 201: UserBody, ...err },
      },
    },
    async (req, reply) => {
      const defaultNumber = (await number(req.accountId, req.body.defaultNumber)) ?? undefined;
      const u = await db(deps.senders.createUser(req.accountId, { ...req.body, defaultNumber }));
      return reply.status(201).send(u);
    },
  );
  app.get(
    '/v1/users/:id',
    { config, schema: { summary: 'One team member', params: IdParams, response: { 200: UserBody, ...err } } },
    async (req) => {
      const u = await db(deps.senders.getUser(req.accountId, req.params.id));
      if (!u) throw new AppError('USER_NOT_FOUND');
      return u;
    },
  );
  app.patch(
    '/v1/users/:id',
    {
      config,
      schema: {
        summary: 'Update a team member (null clears)',
        params: IdParams,
        body: UserPatch,
        response: { 200: UserBody, ...err },
      },
    },
    async (req) => {
      const defaultNumber = await number(req.accountId, req.body.defaultNumber);
      const u = await db(
        deps.senders.updateUser(req.accountId, req.params.id, { ...req.body, defaultNumber }),
      );
      if (!u) throw new AppError('USER_NOT_FOUND');
      return u;
    },
  );

  app.get(
    '/v1/settings/sending',
    {
      config,
      schema: { summary: "The account's default sender", response: { 200: SendingSettings, ...err } },
    },
    async (req) => ({ defaultNumber: await db(deps.senders.accountDefault(req.accountId)) }),
  );
  app.put(
    '/v1/settings/sending',
    {
      config,
      schema: {
        summary: "Set the account's default sender",
        body: SendingSettings,
        response: { 200: SendingSettings, ...err },
      },
    },
    async (req) => {
      const defaultNumber = (await number(req.accountId, req.body.defaultNumber)) ?? null;
      await db(deps.senders.setAccountDefault(req.accountId, defaultNumber));
      return { defaultNumber };
    },
  );

  app.get(
    '/v1/contacts/:id/sender',
    {
      config,
      schema: {
        summary:
          'The number a send to this contact without `from` would use (and why), and every number it could use: fills a sender drop-down',
        params: IdParams,
        querystring: Type.Object(
          { userId: Type.Optional(SendBody.properties.userId) },
          { additionalProperties: false },
        ),
        response: { 200: SenderChoice, ...err },
      },
    },
    async (req) => {
      const contact = await db(deps.contacts.getContact(req.accountId, req.params.id));
      if (!contact) throw new AppError('CONTACT_NOT_FOUND');
      const userId = req.query.userId?.toLowerCase();
      const [list, [h]] = await Promise.all([
        db(deps.accounts.listNumbers(req.accountId)),
        db(deps.senders.senderHints([{ accountId: req.accountId, to: contact.number, userId }])),
      ]);
      if (h!.userDefault === undefined) throw new AppError('UNKNOWN_USER');
      const hints = { ...h!, userDefault: h!.userDefault };
      const chosen = chooseSender(list, hints);
      const byStep: Array<[SenderSource, string | null]> = [
        ['assigned', hints.assigned],
        ['sticky', hints.sticky],
        ['user_default', hints.userDefault],
        ['account_default', hints.accountDefault],
      ];
      return {
        selected: chosen
          ? { number: chosen.number.e164, type: chosen.number.type, source: chosen.source }
          : null,
        candidates: list.map((n) => ({
          number: n.e164,
          type: n.type,
          sources: byStep.filter(([, e]) => e === n.e164).map(([s]) => s),
        })),
      };
    },
  );
}
