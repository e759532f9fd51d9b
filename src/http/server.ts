import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { AppError } from '../errors/app-error.ts';
import type { Logger } from '../logger.ts';
import type { AcceptService } from '../messaging/accept.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { AccountsRepo } from '../store/accounts-repo.ts';
import type { MessagesRepo } from '../store/messages-repo.ts';
import { registerAdminRoutes } from './routes/admin.ts';
import { registerMessageRoutes } from './routes/messages.ts';
import { ErrorBody } from './schemas.ts';

export interface HttpDeps {
  log: Logger;
  accept: AcceptService;
  messages: MessagesRepo;
  accounts: AccountsRepo;
  metrics: Metrics;
  adminToken: string | undefined;
  defaultRegion: string;
  /** Database, Redis and carrier checks for /health/ready. */
  readiness: () => Promise<Record<string, boolean>>;
}

declare module 'fastify' {
  interface FastifyRequest {
    accountId: string;
  }
}

export type App = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

function errorReply(code: string, message: string, action: string, details?: unknown) {
  return { error: details === undefined ? { code, message, action } : { code, message, action, details } };
}

/**
 * Builds the HTTP API (not listening: main.ts listens, tests use inject). Every error leaves as
 * `{error: {code, message, action}}` with no stack trace.
 */
export async function buildHttp(deps: HttpDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.log,
    disableRequestLogging: true,
    bodyLimit: 4 * 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.decorateRequest('accountId', '');
  app.addSchema(ErrorBody);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Parley SMS gateway',
        version: '0.1.0',
        description: 'Send SMS, follow their status, receive signed status callbacks.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof AppError) {
      if (err.httpStatus >= 500) req.log.error({ err: err.cause ?? err, code: err.code }, 'request failed');
      return reply.status(err.httpStatus).send(errorReply(err.code, err.message, err.action, err.details));
    }
    const e = err as { validation?: unknown; statusCode?: number; code?: string; message: string };
    if (e.validation) {
      return reply.status(400).send(errorReply('VALIDATION_FAILED', e.message, 'fix-request'));
    }
    if (e.statusCode && e.statusCode < 500) {
      const code =
        e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'BODY_TOO_LARGE'
          : e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'UNSUPPORTED_MEDIA_TYPE'
            : 'BAD_REQUEST';
      return reply.status(e.statusCode).send(errorReply(code, e.message, 'fix-request'));
    }
    req.log.error({ err }, 'unhandled error');
    return reply
      .status(500)
      .send(
        errorReply(
          'INTERNAL',
          'internal error; nothing about it depends on your request, try again',
          'retry',
        ),
      );
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send(errorReply('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, 'fix-request')),
  );

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    deps.metrics.httpDuration
      .labels(route, req.method, `${Math.floor(reply.statusCode / 100)}xx`)
      .observe(reply.elapsedTime / 1000);
  });

  const authCache = new Map<string, { accountId: string; at: number }>();
  const authenticate = async (req: FastifyRequest) => {
    const h = req.headers.authorization;
    const key = h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
    if (!key)
      throw new AppError('UNAUTHORIZED', 'send your API key as "Authorization: Bearer <key>"', {
        httpStatus: 401,
        action: 'fix-request',
      });
    const hit = authCache.get(key);
    if (hit && Date.now() - hit.at < 30_000) {
      req.accountId = hit.accountId;
      return;
    }
    const accountId = await deps.accounts.accountIdForKey(key);
    if (!accountId)
      throw new AppError('UNAUTHORIZED', 'unknown or revoked API key', {
        httpStatus: 401,
        action: 'fix-request',
      });
    if (authCache.size > 10_000) authCache.clear();
    authCache.set(key, { accountId, at: Date.now() });
    req.accountId = accountId;
  };

  app.get('/health/live', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/health/ready', { schema: { hide: true } }, async (_req, reply) => {
    const checks = await deps.readiness();
    const ok = Object.values(checks).every(Boolean);
    return reply.status(ok ? 200 : 503).send({ ok, checks });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  await app.register(async (scope) => {
    scope.addHook('onRequest', authenticate);
    registerMessageRoutes(scope as App, deps);
  });
  await app.register(async (scope) => {
    registerAdminRoutes(scope as App, deps);
  });
  return app;
}
