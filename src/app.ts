import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Redis } from 'ioredis';
import type { AppConfig } from './config/config.ts';
import { type App, buildHttp } from './http/server.ts';
import type { Logger } from './logger.ts';
import { AcceptService } from './messaging/accept.ts';
import { Dispatcher } from './messaging/dispatcher.ts';
import { InboundService } from './messaging/inbound-service.ts';
import { MemoryParking, type ReceiptParking, RedisParking } from './messaging/parking.ts';
import { ReceiptService } from './messaging/receipt-service.ts';
import { Router } from './messaging/router.ts';
import { WebhookSender } from './messaging/webhooks.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { Carrier } from './smpp/carrier.ts';
import { AccountsRepo } from './store/accounts-repo.ts';
import { type Db, openDb } from './store/db.ts';
import { DispatchRepo, type RollupResult } from './store/dispatch-repo.ts';
import { MessagesRepo } from './store/messages-repo.ts';
import { migrate } from './store/migrate.ts';
import { WebhooksRepo } from './store/webhooks-repo.ts';

export interface Gateway {
  http: App;
  db: Db;
  accounts: AccountsRepo;
  carriers: Carrier[];
  metrics: Metrics;
  dispatcher: Dispatcher;
  receipts: ReceiptService;
  webhooks: WebhookSender;
  /** Starts binds, dispatch, receipt sweeping and webhooks (the HTTP listener is main's). */
  start(): void;
  /** Graceful: stop intake, drain windows, unbind, flush writers, close connections. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** Schema for this gateway's tables (tests); default the connection's search_path. */
  schema?: string | undefined;
  db?: Db;
}

/**
 * Wires the gateway from one validated config: storage, carriers, dispatch, receipts, webhooks,
 * metrics and the HTTP API. Fails (throws) when the database cannot be reached or migrated.
 */
export async function createGateway(
  config: AppConfig,
  log: Logger,
  opts: GatewayOptions = {},
): Promise<Gateway> {
  const db =
    opts.db ??
    (await openDb({
      url: config.databaseUrl,
      dataDir: config.dataDir,
      schema: opts.schema,
      poolSize: config.dbPoolSize,
    }));
  await migrate(db, opts.schema);
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 })
    : undefined;
  redis?.on('error', (err) => log.warn({ err: err.message }, 'redis error'));
  const parking: ReceiptParking = redis ? new RedisParking(redis, config.redisPrefix) : new MemoryParking();
  const metrics = createMetrics();
  const owner = config.instanceId ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

  const accounts = new AccountsRepo(db);
  const messages = new MessagesRepo(db);
  const dispatchRepo = new DispatchRepo(db, owner);
  const accept = new AcceptService(db, messages, accounts, {
    defaultRegion: config.defaultRegion,
    maxSegments: config.maxSegments,
    validityMs: config.validityMs,
    encode: {},
  });
  accept.onAccepted = (n) => metrics.accepted.inc(n);
  const receipts = new ReceiptService(dispatchRepo, parking, log, config.receiptParkTtlMs);
  const inbound = new InboundService(db);
  const webhooks = new WebhookSender(new WebhooksRepo(db), log, {
    pollMs: 250,
    batch: 100,
    timeoutMs: 10_000,
    maxAgeMs: config.webhookMaxAgeMs,
    backoff: { initialMs: config.webhookBackoffMs, maxMs: 3_600_000, multiplier: 2 },
    concurrency: 20,
  });
  const onRollup = (r: RollupResult) => {
    for (const [status, n] of Object.entries(r.changed)) metrics.statusChanges.labels(status).inc(n);
    if (r.webhooks) webhooks.poke();
  };
  receipts.onRollup = onRollup;

  const carriers = config.carriers.map(
    (c) =>
      new Carrier(
        c,
        {
          onReceipt: (r) => {
            metrics.receipts.labels(c.id, r.state).inc();
            return receipts.handle(c.id, r);
          },
          onMo: async (m) => {
            await inbound.store(c.id, m);
            metrics.mo.labels(c.id).inc();
          },
          onBindState: (bindId, state, reason) =>
            log.info({ carrier: c.id, bindId, state, reason }, 'bind state'),
          onSubmitLatency: (ms) => metrics.submitLatency.labels(c.id).observe(ms / 1000),
        },
        log,
      ),
  );
  const collect = () => {
    metrics.binds.reset();
    for (const c of carriers) {
      for (const b of c.binds) metrics.binds.labels(c.cfg.id, b.currentState).inc();
      metrics.carrierQueue.labels(c.cfg.id).set(c.queued);
    }
    metrics.dispatchInFlight.set(dispatcher.pendingSegments);
  };
  const router = new Router(carriers, config.routes);
  const dispatcher = new Dispatcher(dispatchRepo, router, receipts, log, {
    claimBatch: 250,
    maxInFlight: 5_000,
    leaseMs: config.leaseMs,
    pollMs: 20,
    sweepMs: Math.min(5_000, Math.max(250, config.leaseMs / 4)),
    retry: { initialMs: 500, maxMs: 60_000, multiplier: 2 },
  });
  dispatcher.onOutcome = (o) =>
    metrics.submits.labels('carrierId' in o && o.carrierId ? o.carrierId : 'none', o.status).inc();
  dispatcher.onRollup = onRollup;
  receipts.pendingWrite = (carrierId, keys) => dispatcher.pendingWrite(carrierId, keys);

  const http = await buildHttp({
    log,
    accept,
    messages,
    accounts,
    metrics,
    adminToken: config.adminToken,
    defaultRegion: config.defaultRegion,
    readiness: async () => {
      const checks: Record<string, boolean> = {};
      checks.database = await db.query('SELECT 1').then(
        () => true,
        () => false,
      );
      if (redis)
        checks.redis = await redis.ping().then(
          (p) => p === 'PONG',
          () => false,
        );
      checks.carrier = carriers.some((c) => c.boundTransmitters > 0);
      return checks;
    },
  });
  http.addHook('onRequest', async (req) => {
    if (req.url === '/metrics') collect();
  });

  let stopped = false;
  return {
    http,
    db,
    accounts,
    carriers,
    metrics,
    dispatcher,
    receipts,
    webhooks,
    start() {
      for (const c of carriers) c.start();
      receipts.start();
      dispatcher.start();
      webhooks.start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await http.close();
      await accept.drain();
      await dispatcher.stop();
      await Promise.all(carriers.map((c) => c.stop()));
      await receipts.stop();
      await inbound.drain();
      await webhooks.stop();
      if (!opts.db) await db.close();
      redis?.disconnect();
    },
  };
}
