import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.ts';
import { NUMBER_TYPES } from '../../messaging/vocabulary.ts';
import { dbErrorToAppError } from '../../store/db-errors.ts';
import { ERROR_RESPONSES as err, IdParams } from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';

const NumberBody = Type.Object({
  id: Type.String(),
  number: Type.String(),
  type: Type.Union(NUMBER_TYPES.map((t) => Type.Literal(t))),
  friendlyName: Type.Union([Type.String(), Type.Null()]),
  inboundWebhookUrl: Type.Union([Type.String(), Type.Null()], {
    description: "replies to this number are POSTed here; null: the account's inbound URL",
  }),
  accountDefault: Type.Boolean({ description: "the account's default sender" }),
  createdAt: Type.String(),
});
const NumberPatch = Type.Object(
  {
    friendlyName: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()])),
    inboundWebhookUrl: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 2048 }), Type.Null()]),
    ),
  },
  { additionalProperties: false },
);

const db = <T>(p: Promise<T>): Promise<T> =>
  p.catch((e: unknown) => {
    throw dbErrorToAppError(e);
  });

/** /v1/numbers: the account's numbers and their settings. */
export function registerNumberRoutes(app: App, deps: HttpDeps): void {
  const config = { auth: 'account' as const };
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
      if (!(await db(deps.accounts.updateNumber(req.accountId, req.params.id, req.body))))
        throw new AppError('NUMBER_NOT_FOUND');
      const [n] = await db(deps.accounts.numberDetails(req.accountId, req.params.id));
      return n!;
    },
  );
}
