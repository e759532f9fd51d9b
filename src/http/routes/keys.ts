import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.ts';
import { dbErrorToAppError } from '../../store/db-errors.ts';
import { ERROR_RESPONSES as err, IdParams } from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';

export const ApiKeyBody = Type.Object({
  id: Type.String(),
  accountId: Type.String(),
  prefix: Type.String({ description: 'the first characters of the key, to recognise it' }),
  name: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});

const NewKeyBody = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) },
  { additionalProperties: false },
);

/**
 * Revokes a key and tells every instance at once (their caches drop it); the database answer is
 * authoritative within the cache time (≤ 1 s) even if the event is lost.
 */
export async function revokeKey(deps: HttpDeps, keyId: string, accountId?: string): Promise<void> {
  let keyHash: string | undefined;
  try {
    keyHash = await deps.accounts.revokeApiKey(keyId, accountId);
  } catch (e) {
    throw dbErrorToAppError(e);
  }
  if (!keyHash) throw new AppError('API_KEY_NOT_FOUND');
  deps.bus.publish('apikey.revoked', [{ keyHash }]);
}

/** /v1/api-keys: an account lists, creates and revokes its own API keys. */
export function registerKeyRoutes(app: App, deps: HttpDeps): void {
  const config = { auth: 'account' as const };
  app.get(
    '/v1/api-keys',
    {
      config,
      schema: {
        summary: "The account's API keys (never the keys themselves)",
        response: { 200: Type.Object({ data: Type.Array(ApiKeyBody) }), ...err },
      },
    },
    async (req) => ({
      data: await deps.accounts.listApiKeys(req.accountId).catch((e: unknown) => {
        throw dbErrorToAppError(e);
      }),
    }),
  );
  app.post(
    '/v1/api-keys',
    {
      config,
      schema: {
        summary: 'Create another API key (shown once)',
        body: NewKeyBody,
        response: { 201: Type.Object({ ...ApiKeyBody.properties, apiKey: Type.String() }), ...err },
      },
    },
    async (req, reply) => {
      const { key, apiKey } = await deps.accounts
        .createApiKey(req.accountId, req.body.name ?? null)
        .catch((e: unknown) => {
          throw dbErrorToAppError(e);
        });
      return reply.status(201).send({ ...key, apiKey });
    },
  );
  app.delete(
    '/v1/api-keys/:id',
    {
      config,
      schema: {
        summary: 'Revoke an API key: it stops working within a second on every instance',
        params: IdParams,
        response: { 204: Type.Null(), ...err },
      },
    },
    async (req, reply) => {
      await revokeKey(deps, req.params.id, req.accountId);
      return reply.status(204).send(null);
    },
  );
}
