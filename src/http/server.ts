import http from 'node:http';
import { fastifySSE } from '@fastify/sse';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { ComplianceService } from '../compliance/service.ts';
import type { SettingsCache } from '../compliance/settings-cache.ts';
import type { LiveInbox } from '../conversations/live-inbox.ts';
import type { Logger } from '../logger.ts';
import type { AcceptService } from '../messaging/accept.ts';
import type { EventBus } from '../messaging/events.ts';
import type { LinkService } from '../messaging/link-clicks.ts';
import type { ReceiptStore } from '../messaging/ports.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { NumberStatsStore } from '../metrics/number-metrics.ts';
import type { NumberProvider } from '../numbers/provider.ts';
import type { Registry } from '../numbers/registry.ts';
import type { AccountsRepo } from '../store/accounts-repo.ts';
import type { BrandsRepo } from '../store/brands-repo.ts';
import type { CampaignsRepo } from '../store/campaigns-repo.ts';
import type { ComplianceRepo } from '../store/compliance-repo.ts';
import type { ConversationsRepo } from '../store/conversations-repo.ts';
import type { MessagesRepo } from '../store/messages-repo.ts';
import type { PduLogRepo } from '../store/pdu-log-repo.ts';
import type { SendersRepo } from '../store/senders-repo.ts';
import type { TollFreeRepo } from '../store/toll-free-repo.ts';
import { lazyChildLoggerFactory } from './lazy-child-logger.ts';
import { registerAuth } from './plugins/auth.ts';
import { clientErrorHandler, errorReply, registerErrorHandling, toAppError } from './plugins/errors.ts';
import { registerSanitize } from './plugins/sanitize.ts';
import { registerAdminRoutes } from './routes/admin.ts';
import { registerBrandRoutes } from './routes/brands.ts';
import { registerCampaignRoutes } from './routes/campaigns.ts';
import { registerContactRoutes } from './routes/contacts.ts';
import { registerConversationRoutes } from './routes/conversations.ts';
import { registerEventRoutes } from './routes/events.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerKeyRoutes } from './routes/keys.ts';
import { registerLinkRoutes } from './routes/links.ts';
import { registerMessageRoutes } from './routes/messages.ts';
import { registerNumberRoutes } from './routes/numbers.ts';
import { registerTollFreeRoutes } from './routes/toll-free.ts';
import { registerUserRoutes } from './routes/users.ts';
import { registerWebhookSettingsRoutes } from './routes/webhook-settings.ts';
import { ErrorBody } from './schemas.ts';

export interface CarrierHealth {
  /** Transmitting binds bound and answering enquire_link in time. */
  healthy: number;
  /** Transmitting binds bound (healthy or not). */
  bound: number;
  /** Receiving binds bound and healthy. */
  receivers: number;
  binds: number;
}

export interface Readiness {
  database: boolean;
  redis?: boolean;
  carriers: Record<string, CarrierHealth>;
}

export interface HttpDeps {
  log: Logger;
  accept: AcceptService;
  messages: MessagesRepo;
  accounts: AccountsRepo;
  contacts: ComplianceRepo;
  conversations: ConversationsRepo;
  senders: SendersRepo;
  /** 10DLC brands and the registry that reviews them (undefined: none configured). */
  brands: BrandsRepo;
  campaigns: CampaignsRepo;
  tollFree: TollFreeRepo;
  registry: Registry | undefined;
  /** Where numbers are bought (undefined: none configured). */
  numberProvider: NumberProvider | undefined;
  /** Short links: the redirector (GET /l/:code) and click recording. */
  links: LinkService;
  /** Short links are this plus the code. */
  linkBaseUrl: string;
  /** Per-number delivery rollups (GET /v1/numbers/:id/metrics, /v1/metrics/messages). */
  numberStats: NumberStatsStore;
  /** The live inbox (GET /v1/events). */
  inbox: LiveInbox;
  /** SSE: heartbeat interval, and events a connection may hold unsent before it is closed. */
  eventsHeartbeatMs: number;
  eventsMaxQueued: number;
  compliance: ComplianceService;
  complianceSettings: SettingsCache;
  /** Throws INVALID_CALLBACK_URL (400) for a URL webhooks may not go to. */
  checkWebhookUrl: (url: string) => void;
  receipts: ReceiptStore;
  pduLog: PduLogRepo;
  metrics: Metrics;
  bus: EventBus;
  adminToken: string | undefined;
  defaultRegion: string;
  authCacheMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  bodyLimit: number;
  readyTimeoutMs: number;
  /** Database, Redis and per-carrier bind state for /health/ready; each check is bounded by readyTimeoutMs. */
  readiness: () => Promise<Readiness>;
  /** Called before /metrics renders (gauges sampled on scrape). */
  collect: () => void;
}

export type App = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/**
 * Builds the HTTP API (not listening: main.ts listens, tests use inject). Concerns are plugins:
 * errors (one shape for every error, HTTP-level ones included), authentication decided per route,
 * input sanitising, docs; then the routes. Every timeout is bounded.
 */
export async function buildHttp(deps: HttpDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.log,
    childLoggerFactory: lazyChildLoggerFactory,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimit,
    // Node checks request timeouts only every connectionsCheckingInterval (30 s by default): the
    // server is made here so that a body that never finishes gets its 408 on time.
    serverFactory: (handler: http.RequestListener) =>
      http.createServer(
        {
          requestTimeout: deps.requestTimeoutMs,
          headersTimeout: Math.min(deps.requestTimeoutMs, 60_000),
          keepAliveTimeout: deps.keepAliveTimeoutMs,
          connectionsCheckingInterval: Math.max(50, Math.min(1_000, deps.requestTimeoutMs / 4)),
        },
        handler,
      ),
    // An idle socket is closed after this (a slow request gets its 408 first).
    connectionTimeout: deps.requestTimeoutMs * 3,
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    clientErrorHandler,
    frameworkErrors: (
      err: Error,
      _req: unknown,
      reply: { status(n: number): { send(b: unknown): unknown } },
    ) => {
      const e = toAppError(err);
      void reply.status(e.httpStatus).send(errorReply(e.code, e.message));
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  } as Parameters<typeof Fastify>[0]).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  registerErrorHandling(app, deps.log);
  // fastify's own JSON parser (prototype-poisoning checks kept), except that an empty body is no
  // body: clients send DELETE with a JSON content type and nothing after it.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') done(null, undefined);
    else void json(req, body as string, done);
  });
  registerAuth(app, {
    adminToken: deps.adminToken,
    accountIdForKeyHash: (h) => deps.accounts.accountIdForKeyHash(h),
    cacheMs: deps.authCacheMs,
    bus: deps.bus,
  });
  registerSanitize(app);
  app.addSchema(ErrorBody);

  await app.register(fastifySSE, { heartbeatInterval: deps.eventsHeartbeatMs });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Parley SMS gateway',
        version: '0.2.0',
        description: 'Send SMS, follow their status, receive signed status callbacks.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    deps.metrics.httpDuration
      .labels(route, req.method, `${Math.floor(reply.statusCode / 100)}xx`)
      .observe(reply.elapsedTime / 1000);
  });

  registerHealthRoutes(app, deps);
  registerLinkRoutes(app, deps);
  registerMessageRoutes(app, deps);
  registerKeyRoutes(app, deps);
  registerContactRoutes(app, deps);
  registerConversationRoutes(app, deps);
  registerUserRoutes(app, deps);
  registerEventRoutes(app, deps);
  registerNumberRoutes(app, deps);
  registerBrandRoutes(app, deps);
  registerCampaignRoutes(app, deps);
  registerTollFreeRoutes(app, deps);
  registerWebhookSettingsRoutes(app, deps);
  registerAdminRoutes(app, deps);
  return app;
}
