import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.ts';
import { NUMBER_TYPES } from '../../messaging/vocabulary.ts';
import type { AssignmentStatus } from '../../numbers/campaigns.ts';
import { toE164 } from '../../numbers/phone.ts';
import { db, dbErrorToAppError } from '../../store/db-errors.ts';
import { ERROR_RESPONSES as err, IdParams, SendBody } from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';

const NumberBody = Type.Object({
  id: Type.String(),
  number: Type.String(),
  type: Type.String({ description: NUMBER_TYPES.join(', ') }),
  friendlyName: Type.Union([Type.String(), Type.Null()]),
  inboundWebhookUrl: Type.Union([Type.String(), Type.Null()], {
    description: "replies to this number are POSTed here; null: the account's inbound URL",
  }),
  accountDefault: Type.Boolean({ description: "the account's default sender" }),
  assignedUserId: Type.Union([Type.String(), Type.Null()], {
    description: 'the team member the number belongs to (it becomes their default sender)',
  }),
  campaign: Type.Object(
    {
      id: Type.Union([Type.String(), Type.Null()]),
      status: Type.Union([
        Type.Literal('pending_assignment' satisfies AssignmentStatus),
        Type.Literal('assigned' satisfies AssignmentStatus),
        Type.Literal('failed_assignment' satisfies AssignmentStatus),
        Type.Null(),
      ]),
      reason: Type.Union([Type.String(), Type.Null()], { description: 'why the assignment failed' }),
    },
    {
      description: 'the 10DLC campaign it sends under (PUT /v1/numbers/:id/campaign); it sends once assigned',
    },
  ),
  calls: Type.Object(
    {
      forwardTo: Type.Union([Type.String(), Type.Null()]),
      voicemail: Type.Boolean(),
      recording: Type.Boolean(),
    },
    { description: 'call handling, stored for the platform (Parley carries no voice)' },
  ),
  createdAt: Type.String(),
});
const NumberPatch = Type.Object(
  {
    friendlyName: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()])),
    inboundWebhookUrl: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 2048 }), Type.Null()]),
    ),
    assignedUserId: Type.Optional(Type.Union([SendBody.properties.userId, Type.Null()])),
    calls: Type.Optional(
      Type.Object(
        {
          forwardTo: Type.Optional(
            Type.Union([
              Type.String({ minLength: 1, maxLength: 32, description: 'a phone number (E.164)' }),
              Type.Null(),
            ]),
          ),
          voicemail: Type.Optional(Type.Boolean()),
          recording: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const Available = Type.Object({
  number: Type.String(),
  type: Type.String({ description: NUMBER_TYPES.join(', ') }),
  region: Type.Union([Type.String(), Type.Null()], { description: 'state or province' }),
  locality: Type.Union([Type.String(), Type.Null()]),
  monthlyCost: Type.String({ description: 'decimal, in `currency`; confirm it when buying' }),
  currency: Type.String(),
  capabilities: Type.Object({ sms: Type.Boolean(), mms: Type.Boolean(), voice: Type.Boolean() }),
});
const SearchQuery = Type.Object(
  {
    type: Type.Optional(Type.Union(NUMBER_TYPES.map((t) => Type.Literal(t)))),
    areaCode: Type.Optional(Type.String({ pattern: '^[0-9]{3}$' })),
    region: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$', description: 'e.g. TX' })),
    contains: Type.Optional(Type.String({ pattern: '^[0-9]{1,10}$' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);
const Purchase = Type.Object(
  {
    number: Type.String({ minLength: 3, maxLength: 16, pattern: '^\\+?[0-9]+$' }),
    confirmMonthlyCost: Type.String({
      pattern: '^[0-9]{1,6}(\\.[0-9]{1,4})?$',
      description: 'the monthlyCost the search quoted: the number is bought only at that price',
    }),
  },
  { additionalProperties: false },
);

/** /v1/available-numbers and /v1/numbers: search, buy, configure and release the account's numbers. */
export function registerNumberRoutes(app: App, deps: HttpDeps): void {
  const config = { auth: 'account' as const };
  const provider = () => {
    if (!deps.numberProvider) throw new AppError('NO_NUMBER_PROVIDER');
    return deps.numberProvider;
  };

  app.get(
    '/v1/available-numbers',
    {
      config,
      schema: {
        summary: 'Numbers for sale by type, area code, region (state) or digits they contain',
        querystring: SearchQuery,
        response: { 200: Type.Object({ data: Type.Array(Available) }), ...err },
      },
    },
    async (req) => ({ data: await provider().search(req.query) }),
  );

  app.post(
    '/v1/numbers',
    {
      config,
      schema: {
        summary: 'Buy a number at its quoted monthly cost (409 PRICE_CHANGED with the new price otherwise)',
        body: Purchase,
        response: { 201: NumberBody, ...err },
      },
    },
    async (req, reply) => {
      const p = provider();
      const number =
        req.body.number.startsWith('+') || req.body.number.length <= 8
          ? req.body.number
          : `+${req.body.number}`;
      const r = await p.purchase(number, req.body.confirmMonthlyCost);
      if (!r.ok) {
        if (r.reason === 'price_changed')
          throw new AppError('PRICE_CHANGED', `the monthly cost is now ${r.monthlyCost}`, {
            details: { monthlyCost: r.monthlyCost },
          });
        throw new AppError(
          'NUMBER_UNAVAILABLE',
          r.reason === 'not_found' ? 'the provider does not sell this number' : undefined,
        );
      }
      let added: Awaited<ReturnType<typeof deps.accounts.addNumber>>;
      try {
        added = await deps.accounts.addNumber(req.accountId, r.number.number, r.number.type);
      } catch (e) {
        // Bought but not recorded: give it back, so that nobody pays for a number they cannot use.
        await p
          .release(r.number.number)
          .catch((err: unknown) =>
            req.log.error({ err, number: r.number.number }, 'bought number not recorded and not released'),
          );
        throw e instanceof AppError ? e : dbErrorToAppError(e);
      }
      deps.accept.invalidateNumbers(req.accountId);
      const [n] = await db(deps.accounts.numberDetails(req.accountId, added.id));
      return reply.status(201).send(n!);
    },
  );

  app.delete(
    '/v1/numbers/:id',
    {
      config,
      schema: {
        summary:
          'Release a number: it leaves the account (and every default or assignment naming it) and goes back to the provider',
        params: IdParams,
        response: { 204: Type.Null(), ...err },
      },
    },
    async (req, reply) => {
      const p = provider();
      const [n] = await db(deps.accounts.numberDetails(req.accountId, req.params.id));
      if (!n) throw new AppError('NUMBER_NOT_FOUND');
      await p.release(n.number);
      await db(deps.accounts.removeNumber(req.accountId, req.params.id));
      deps.accept.invalidateNumbers(req.accountId);
      return reply.status(204).send(null);
    },
  );
  app.get(
    '/v1/numbers',
    {
      config,
      schema: {
        summary: "The account's numbers, oldest first",
        response: { 200: Type.Object({ data: Type.Array(NumberBody) }), ...err },
      },
    },
    async (req) => ({ data: await db(deps.accounts.numberDetails(req.accountId)) }),
  );
  app.get(
    '/v1/numbers/:id',
    { config, schema: { summary: 'One number', params: IdParams, response: { 200: NumberBody, ...err } } },
    async (req) => {
      const [n] = await db(deps.accounts.numberDetails(req.accountId, req.params.id));
      if (!n) throw new AppError('NUMBER_NOT_FOUND');
      return n;
    },
  );
  app.patch(
    '/v1/numbers/:id',
    {
      config,
      schema: {
        summary:
          'Name a number, or give its replies their own inbound webhook URL (SSRF-checked); null clears',
        params: IdParams,
        body: NumberPatch,
        response: { 200: NumberBody, ...err },
      },
    },
    async (req) => {
      const url = req.body.inboundWebhookUrl;
      if (url !== undefined && url !== null) deps.checkWebhookUrl(url);
      const userId = req.body.assignedUserId?.toLowerCase() ?? req.body.assignedUserId;
      if (userId && !(await db(deps.senders.getUser(req.accountId, userId))))
        throw new AppError('UNKNOWN_USER');
      const fwd = req.body.calls?.forwardTo;
      const calls =
        req.body.calls && fwd
          ? { ...req.body.calls, forwardTo: toE164(fwd, deps.defaultRegion, 'INVALID_PHONE_NUMBER') }
          : req.body.calls;
      const patch = { ...req.body, assignedUserId: userId, calls };
      if (!(await db(deps.accounts.updateNumber(req.accountId, req.params.id, patch))))
        throw new AppError('NUMBER_NOT_FOUND');
      const [n] = await db(deps.accounts.numberDetails(req.accountId, req.params.id));
      return n!;
    },
  );
}
