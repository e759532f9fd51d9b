import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.ts';
import { NUMBER_TYPES } from '../../messaging/vocabulary.ts';
import { normalizeSendingNumber } from '../../numbers/phone.ts';
import { dbErrorToAppError } from '../../store/db-errors.ts';
import { ERROR_RESPONSES as err, IdParams, UuidString } from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';
import { importOptOuts, OptOutImport, OptOutImportResult } from './contacts.ts';
import { ApiKeyBody, revokeKey } from './keys.ts';

const config = { auth: 'admin' as const };
const Limit = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});

async function db<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw dbErrorToAppError(e);
  }
}

/**
 * /v1/admin: operators create accounts, add numbers, manage API keys and inspect what carriers
 * sent that could not be used. Guarded by PARLEY_ADMIN_TOKEN (disabled without it).
 */
export function registerAdminRoutes(app: App, deps: HttpDeps): void {
  app.post(
    '/v1/admin/accounts',
    {
      config,
      schema: {
        summary: 'Create an account and its first API key (shown once)',
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 200 }) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            id: Type.String(),
            name: Type.String(),
            apiKey: Type.String(),
            keyId: Type.String(),
            webhookSecret: Type.String(),
          }),
          ...err,
        },
      },
    },
    async (req, reply) => {
      const { account, apiKey, keyId } = await db(deps.accounts.createAccount(req.body.name));
      return reply
        .status(201)
        .send({ id: account.id, name: account.name, apiKey, keyId, webhookSecret: account.webhookSecret });
    },
  );

  app.post(
    '/v1/admin/numbers',
    {
      config,
      schema: {
        summary: 'Add a sending number to an account',
        body: Type.Object(
          {
            accountId: UuidString,
            number: Type.String({ minLength: 3, maxLength: 32 }),
            type: Type.Union(NUMBER_TYPES.map((t) => Type.Literal(t))),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            id: Type.String(),
            accountId: Type.String(),
            number: Type.String(),
            type: Type.String(),
          }),
          ...err,
        },
      },
    },
    async (req, reply) => {
      const { accountId, type } = req.body;
      const account = await db(deps.accounts.getAccount(accountId));
      if (!account) throw new AppError('ACCOUNT_NOT_FOUND', `no account ${accountId}`);
      const e164 = normalizeSendingNumber(req.body.number, type, deps.defaultRegion);
      const n = await db(deps.accounts.addNumber(account.id, e164, type));
      deps.accept.invalidateNumbers(account.id);
      return reply.status(201).send({ id: n.id, accountId: n.accountId, number: n.e164, type: n.type });
    },
  );

  app.patch(
    '/v1/admin/numbers/:number',
    {
      config,
      schema: {
        summary:
          "Set a number's own rate limit (segments per second; 'default': the policy table's for its type)",
        params: Type.Object({ number: Type.String({ minLength: 3, maxLength: 32 }) }),
        body: Type.Object(
          // Not null for "default": type coercion would read a 0 as null and clear the limit.
          {
            maxSegmentsPerSecond: Type.Union([
              Type.Number({ exclusiveMinimum: 0, maximum: 1e7 }),
              Type.Literal('default'),
            ]),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            number: Type.String(),
            maxSegmentsPerSecond: Type.Union([Type.Number(), Type.Literal('default')]),
          }),
          ...err,
        },
      },
    },
    async (req) => {
      const spellings = [req.params.number];
      try {
        spellings.push(normalizeSendingNumber(req.params.number, 'local', deps.defaultRegion));
      } catch {
        // A short code or an E.164 number as stored: the spelling given is the one to look for.
      }
      const rate = req.body.maxSegmentsPerSecond;
      const e164 = await db(deps.accounts.setNumberRate(spellings, rate === 'default' ? null : rate));
      if (e164 === undefined) throw new AppError('NUMBER_NOT_FOUND', `no number ${req.params.number}`);
      return { number: e164, maxSegmentsPerSecond: rate };
    },
  );

  app.get(
    '/v1/admin/accounts/:id/api-keys',
    {
      config,
      schema: {
        summary: "An account's API keys",
        params: IdParams,
        response: { 200: Type.Object({ data: Type.Array(ApiKeyBody) }), ...err },
      },
    },
    async (req) => ({ data: await db(deps.accounts.listApiKeys(req.params.id)) }),
  );

  app.post(
    '/v1/admin/accounts/:id/api-keys',
    {
      config,
      schema: {
        summary: 'Create an API key for an account (shown once)',
        params: IdParams,
        body: Type.Object(
          { name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ ...ApiKeyBody.properties, apiKey: Type.String() }), ...err },
      },
    },
    async (req, reply) => {
      if (!(await db(deps.accounts.getAccount(req.params.id)))) throw new AppError('ACCOUNT_NOT_FOUND');
      const { key, apiKey } = await db(deps.accounts.createApiKey(req.params.id, req.body?.name ?? null));
      return reply.status(201).send({ ...key, apiKey });
    },
  );

  app.delete(
    '/v1/admin/api-keys/:id',
    {
      config,
      schema: {
        summary: 'Revoke any API key: it stops working within a second on every instance',
        params: IdParams,
        response: { 204: Type.Null(), ...err },
      },
    },
    async (req, reply) => {
      await revokeKey(deps, req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/admin/receipts/unmatched',
    {
      config,
      schema: {
        summary: 'Receipts that never matched a sent segment within their TTL, newest first',
        querystring: Limit,
        response: {
          200: Type.Object({
            data: Type.Array(
              Type.Object({
                carrierId: Type.String(),
                smscId: Type.String(),
                status: Type.String(),
                errorCode: Type.Union([Type.String(), Type.Null()]),
                receivedAt: Type.String(),
                unmatchedAt: Type.String(),
              }),
            ),
          }),
          ...err,
        },
      },
    },
    async (req) => ({ data: await db(deps.receipts.listUnmatched(req.query.limit ?? 100)) }),
  );

  app.get(
    '/v1/admin/pdus/rejected',
    {
      config,
      schema: {
        summary:
          'PDUs from SMSCs answered with an error status (malformed body), newest first, with their octets',
        querystring: Limit,
        response: {
          200: Type.Object({
            data: Type.Array(
              Type.Object({
                id: Type.String(),
                carrierId: Type.String(),
                bindId: Type.String(),
                commandId: Type.Integer(),
                sequenceNumber: Type.Integer(),
                answeredStatus: Type.Integer(),
                reason: Type.String(),
                pdu: Type.String({ description: 'hex' }),
                receivedAt: Type.String(),
              }),
            ),
          }),
          ...err,
        },
      },
    },
    async (req) => ({ data: await db(deps.pduLog.list(req.query.limit ?? 100)) }),
  );

  app.post(
    '/v1/admin/accounts/:id/opt-outs',
    {
      config,
      schema: {
        summary: "Import an existing opt-out list into an account (the CLI's contacts import-opt-outs)",
        params: IdParams,
        body: OptOutImport,
        response: { 200: OptOutImportResult, ...err },
      },
    },
    async (req) => {
      const acc = await db(deps.accounts.getAccount(req.params.id));
      if (!acc) throw new AppError('ACCOUNT_NOT_FOUND');
      return importOptOuts(deps, acc.id, req.body.numbers);
    },
  );
}
