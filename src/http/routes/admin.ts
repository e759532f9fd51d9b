import { timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.ts';
import { NUMBER_TYPES, normalizeSendingNumber } from '../../numbers/phone.ts';
import type { App, HttpDeps } from '../server.ts';

function tokenMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** /v1/admin: operators create accounts and add numbers; guarded by PARLEY_ADMIN_TOKEN. */
export function registerAdminRoutes(app: App, deps: HttpDeps): void {
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/v1/admin/')) return;
    if (!deps.adminToken)
      throw new AppError('ADMIN_DISABLED', 'set PARLEY_ADMIN_TOKEN to enable the admin API', {
        httpStatus: 403,
        action: 'fix-config',
      });
    const h = req.headers.authorization;
    if (!h?.startsWith('Bearer ') || !tokenMatches(h.slice(7).trim(), deps.adminToken)) {
      throw new AppError('UNAUTHORIZED', 'admin API needs "Authorization: Bearer <PARLEY_ADMIN_TOKEN>"', {
        httpStatus: 401,
        action: 'fix-request',
      });
    }
  });

  app.post(
    '/v1/admin/accounts',
    {
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
            webhookSecret: Type.String(),
          }),
        },
      },
    },
    async (req, reply) => {
      const { account, apiKey } = await deps.accounts.createAccount(req.body.name);
      return reply
        .status(201)
        .send({ id: account.id, name: account.name, apiKey, webhookSecret: account.webhookSecret });
    },
  );

  app.post(
    '/v1/admin/numbers',
    {
      schema: {
        summary: 'Add a sending number to an account',
        body: Type.Object(
          {
            accountId: Type.String(),
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
        },
      },
    },
    async (req, reply) => {
      const { accountId, type } = req.body;
      const account = /^[0-9a-f-]{36}$/i.test(accountId)
        ? await deps.accounts.getAccount(accountId)
        : undefined;
      if (!account)
        throw new AppError('ACCOUNT_NOT_FOUND', `no account ${accountId}`, {
          httpStatus: 404,
          action: 'fix-request',
        });
      const e164 = normalizeSendingNumber(req.body.number, type, deps.defaultRegion);
      const n = await deps.accounts.addNumber(account.id, e164, type);
      deps.accept.invalidateNumbers(account.id);
      return reply.status(201).send({ id: n.id, accountId: n.accountId, number: n.e164, type: n.type });
    },
  );
}
