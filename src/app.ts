import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { coalescedComplianceContext } from './compliance/context-sources.ts';
import { OptOutGate } from './compliance/gate.ts';
import {
  footerAcceptPolicy,
  frequencyCapPolicy,
  optOutAcceptPolicy,
  optOutDispatchPolicy,
  quietHoursAcceptPolicy,
  quietHoursDispatchPolicy,
} from './compliance/policies.ts';
import { ComplianceService } from './compliance/service.ts';
import { configuredDefaults } from './compliance/settings.ts';
import { SettingsCache } from './compliance/settings-cache.ts';
import { zonesOfNumbers } from './compliance/time-zones.ts';
import type { AppConfig } from './config/config.ts';
import { LiveService } from './conversations/live-service.ts';
import { type App, buildHttp } from './http/server.ts';
import { createLimits } from './limits/create-limits.ts';
import type { Logger } from './logger.ts';
import { AcceptService } from './messaging/accept.ts';
import type { AcceptCandidate } from './messaging/compose.ts';
import { Dispatcher } from './messaging/dispatcher.ts';
import { type EventBus, LocalBus } from './messaging/events.ts';
import { InboundService } from './messaging/inbound.ts';
import { LinkService } from './messaging/link-clicks.ts';
import { linksAcceptPolicy } from './messaging/links.ts';
import type { ClaimedSegment } from './messaging/model.ts';
import { Pipeline } from './messaging/pipeline.ts';
import {
  carrierAvailablePolicy,
  DestinationBackoff,
  schedulePolicy,
  validityPolicy,
} from './messaging/policies.ts';
import { ReceiptService } from './messaging/receipts.ts';
import { Router } from './messaging/router.ts';
import { Sweeper } from './messaging/sweeper.ts';
import { checkCallbackUrl, WebhookTransport } from './messaging/webhook-transport.ts';
import { WebhookSender } from './messaging/webhooks.ts';
import { queueWaitObserver, submitResponseObserver, subscribeMetrics } from './metrics/bus-metrics.ts';
import { createFigureJobs } from './metrics/figure-jobs.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { readinessOf, sampleCarrierGauges } from './metrics/probes.ts';
import { HttpNumberProvider } from './numbers/http-provider.ts';
import { registrationAcceptPolicy, registrationDispatchPolicy } from './numbers/registration-policy.ts';
import { RegistrationService } from './numbers/registration-service.ts';
import { HttpRegistry } from './numbers/registry.ts';
import { Carrier } from './smpp/carrier.ts';
import { AccountsRepo } from './store/accounts-repo.ts';
import { BacklogRepo } from './store/backlog-repo.ts';
import { BrandsRepo } from './store/brands-repo.ts';
import { CampaignsRepo } from './store/campaigns-repo.ts';
import { ComplianceRepo } from './store/compliance-repo.ts';
import { ConversationsRepo } from './store/conversations-repo.ts';
import { type Db, openDb } from './store/db.ts';
import { DispatchRepo } from './store/dispatch-repo.ts';
import { EventsRepo } from './store/events-repo.ts';
import { InboundRepo } from './store/inbound-repo.ts';
import { LimitsRepo } from './store/limits-repo.ts';
import { LinksRepo } from './store/links-repo.ts';
import { MessagesRepo } from './store/messages-repo.ts';
import { migrate } from './store/migrate.ts';
import { NumberStatsRepo } from './store/number-stats-repo.ts';
import { PduLogRepo } from './store/pdu-log-repo.ts';
import { ReceiptsRepo } from './store/receipts-repo.ts';
import { RedisBus } from './store/redis-bus.ts';
import { RejectedPduLog } from './store/rejected-pdu-log.ts';
import { SendersRepo } from './store/senders-repo.ts';
import { TollFreeRepo } from './store/toll-free-repo.ts';
import { WebhooksRepo } from './store/webhooks-repo.ts';
import { logWriteFailures } from './store/write-failure-log.ts';

export interface Gateway {
  http: App;
  db: Db;
  accept: AcceptService;
  bus: EventBus;
  accounts: AccountsRepo;
  carriers: Carrier[];
  metrics: Metrics;
  dispatcher: Dispatcher;
  receipts: ReceiptService;
  inbound: InboundService;
  webhooks: WebhookSender;
  sweeper: Sweeper;
  compliance: ComplianceService;
  contacts: ComplianceRepo;
  campaigns: CampaignsRepo;
  dispatchPipeline: Pipeline<ClaimedSegment>;
  acceptPipeline: Pipeline<AcceptCandidate>;
  /** Per-number delivery rollups. */
  numberStats: NumberStatsRepo;
  /** Samples the gauges read on scrape (before rendering the registry). */
  collect: () => void;
  /** Starts binds, dispatch, sweeps and webhooks (the HTTP listener is main's). */
  start(): void;
  /** Graceful: stop intake, drain windows, store what is in flight, unbind, close connections. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** Schema for this gateway's tables (tests); default the connection's search_path. */
  schema?: string | undefined;
  db?: Db;
}

/**
 * Wires the gateway from one validated config: storage, events, carriers, the accept and dispatch
 * pipelines, receipts, inbound, webhooks, sweeps, metrics and the HTTP API. Fails (throws) when
 * the database cannot be reached or migrated.
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
      connectTimeoutMs: config.dbConnectTimeoutMs,
      statementTimeoutMs: config.dbStatementTimeoutMs,
      onIdleError: (err) => log.debug({ err: err.message }, 'idle database connection failed'),
    }));
  await migrate(db, opts.schema);
  await db.warm();
  const owner = config.instanceId ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const bus: EventBus & { ready?: () => Promise<boolean> } = config.redisUrl
    ? new RedisBus(config.redisUrl, config.redisPrefix, owner, log)
    : new LocalBus((err, type) => log.error({ err, type }, 'event subscriber failed'));
  const metrics = createMetrics();
  subscribeMetrics(metrics, bus);
  logWriteFailures(bus, log);

  const accounts = new AccountsRepo(db);
  const messages = new MessagesRepo(db);
  const dispatchRepo = new DispatchRepo(db, owner);
  const receiptsRepo = new ReceiptsRepo(db);
  const receipts = new ReceiptService(receiptsRepo, bus, log, config.receiptParkTtlMs);
  const inbound = new InboundService(
    new InboundRepo(db),
    bus,
    log,
    new Map(
      config.carriers.map((c) => [
        c.id,
        { region: c.defaultRegion ?? config.defaultRegion, moReassemblyTimeoutMs: c.moReassemblyTimeoutMs },
      ]),
    ),
    config.defaultRegion,
  );
  const pduLog = new PduLogRepo(db);
  const rejectedPdus = new RejectedPduLog(pduLog, bus, log);

  const carriers = config.carriers.map(
    (c) =>
      new Carrier(
        c,
        {
          onReceipt: (r, candidates) => receipts.handle(c.id, r, candidates),
          onMo: (part) => inbound.handle(c.id, part),
          onBindState: (bindId, state, reason) => {
            log.info({ carrier: c.id, bindId, state, reason }, 'bind state');
            bus.publish('bind.state', [{ carrierId: c.id, state }]);
          },
          onSubmitResponse: submitResponseObserver(metrics, c.id),
          onQueueWait: queueWaitObserver(metrics, c.id),
          onThrottled: (f) =>
            bus.publish('carrier.over_limit', [
              { carrierId: c.id, from: f.sourceAddrTon === 1 ? `+${f.sourceAddr}` : f.sourceAddr },
            ]),
          onInvalidReceipt: () =>
            bus.publish('receipt.unmatched', [{ carrierId: c.id, smscId: '', cause: 'invalid' }]),
          onRejectedPdu: rejectedPdus.handlerFor(c.id),
        },
        log,
      ),
  );
  const router = new Router(carriers, config.routes);
  const backoff = new DestinationBackoff();
  const contacts = new ComplianceRepo(
    db,
    configuredDefaults({
      quietHours: config.quietHoursDefault,
      footer: config.footerDefault,
      timeZone: config.timeZone,
    }),
  );
  const gate = new OptOutGate();
  const complianceSettings = new SettingsCache((ids) => contacts.settings(ids));
  const complianceContext = coalescedComplianceContext(contacts, bus, complianceSettings, zonesOfNumbers);
  const limits = createLimits(config, new LimitsRepo(db), router, { metrics, bus, log });
  const acceptPipeline = new Pipeline<AcceptCandidate>(
    [
      schedulePolicy,
      ...(config.registrationGate ? [registrationAcceptPolicy()] : []),
      ...limits.acceptPolicies,
      optOutAcceptPolicy(complianceContext),
      quietHoursAcceptPolicy(complianceContext),
      frequencyCapPolicy(complianceContext),
      // Before the footer: the footer's text is never shortened, and segments count the short body.
      linksAcceptPolicy(config.linkBaseUrl, async (ids) => {
        const settings = await complianceSettings.get(ids);
        return new Map([...settings].map(([id, s]) => [id, s.trackLinks]));
      }),
      footerAcceptPolicy(complianceContext),
    ],
    (c, body) => ({ ...c, body }),
  );
  const dispatchPipeline = new Pipeline<ClaimedSegment>([
    validityPolicy,
    ...(config.registrationGate
      ? [
          registrationDispatchPolicy((n) => accounts.registrationOf(n), {
            // A pending assignment changes only when the registry poller records an answer.
            pendingWaitMs: config.registryPollMs,
          }),
        ]
      : []),
    optOutDispatchPolicy(complianceContext),
    quietHoursDispatchPolicy(complianceContext),
    backoff.policyFor(),
    carrierAvailablePolicy(router),
    ...limits.dispatchPolicies,
  ]);

  const senders = new SendersRepo(db);
  const accept = new AcceptService(messages, accounts, senders, router, acceptPipeline, bus, {
    defaultRegion: config.defaultRegion,
    maxSegments: config.maxSegments,
    validityMs: config.validityMs,
    maxPending: config.acceptMaxPending,
    checkCallbackUrl: (url) => checkCallbackUrl(url, config.webhookAllowNetworks),
  });
  const dispatcher = new Dispatcher(dispatchRepo, router, dispatchPipeline, backoff, bus, log, {
    claimBatch: 250,
    maxInFlight: 5_000,
    leaseMs: config.leaseMs,
    // 50 ms, not 20: fewer dispatch cycles at load, less CPU (docs/benchmarks.md, twelfth VM).
    pollMs: 50,
    retry: { initialMs: 500, maxMs: 60_000, multiplier: 2 },
  });
  receipts.pendingWrite = (carrierId, keys) => dispatcher.pendingWrite(carrierId, keys);
  dispatcher.addSubmitGuard((seg) => gate.allows(seg.messageId, seg.from, seg.to));
  const compliance = new ComplianceService(
    contacts,
    gate,
    bus,
    log,
    (accountId, from, to, body) => accept.composeReply(accountId, from, to, body),
    { sweepMs: 2_000, sweepAfterMs: 5_000 },
  );
  const transport = new WebhookTransport(config.webhookAllowNetworks);
  const webhooks = new WebhookSender(new WebhooksRepo(db), transport, bus, log, {
    pollMs: 250,
    batch: 100,
    timeoutMs: config.webhookTimeoutMs,
    maxAgeMs: config.webhookMaxAgeMs,
    backoff: { initialMs: config.webhookBackoffMs, maxMs: 3_600_000, multiplier: 2 },
    concurrency: 20,
  });
  const sweeper = new Sweeper(dispatchRepo, receiptsRepo, inbound, bus, log, {
    fastMs: 1_000,
    slowMs: Math.min(5_000, Math.max(250, config.leaseMs / 4)),
    pruneMs: 600_000,
    validityMs: config.validityMs,
    receiptTimeoutMs: config.receiptTimeoutMs,
    retentionMs: config.unmatchedRetentionMs,
    rematchWindowMs: 30_000,
  });

  const live = new LiveService(new EventsRepo(db), bus, log, {
    ...config.events,
    pruneMs: 600_000,
    refreshMs: 60_000,
  });

  const links = new LinkService(new LinksRepo(db), bus, log);
  const numberStats = new NumberStatsRepo(db);
  const figureJobs = createFigureJobs({
    bus,
    stats: numberStats,
    backlog: new BacklogRepo(db),
    metrics,
    log,
  });

  const brands = new BrandsRepo(db);
  const registry = config.registryUrl ? new HttpRegistry(config.registryUrl) : undefined;
  const campaigns = new CampaignsRepo(db);
  const tollFree = new TollFreeRepo(db);
  const registration =
    registry && new RegistrationService(brands, campaigns, tollFree, registry, log, config.registryPollMs);

  const readiness = readinessOf(db, bus, carriers);
  const collect = () =>
    sampleCarrierGauges(metrics, carriers, {
      dispatchInFlight: dispatcher.pendingSegments,
      inboundPending: receipts.pending + inbound.pending,
    });

  const http = await buildHttp({
    log,
    accept,
    messages,
    accounts,
    contacts,
    conversations: new ConversationsRepo(db),
    senders,
    inbox: live.inbox,
    numberProvider: config.numberProviderUrl ? new HttpNumberProvider(config.numberProviderUrl) : undefined,
    brands,
    campaigns,
    tollFree,
    registry,
    links,
    linkBaseUrl: config.linkBaseUrl,
    numberStats,
    eventsHeartbeatMs: config.events.heartbeatMs,
    eventsMaxQueued: 10_000,
    compliance,
    complianceSettings,
    checkWebhookUrl: (url) => checkCallbackUrl(url, config.webhookAllowNetworks),
    receipts: receiptsRepo,
    pduLog,
    metrics,
    bus,
    adminToken: config.adminToken,
    defaultRegion: config.defaultRegion,
    authCacheMs: config.authCacheMs,
    requestTimeoutMs: config.httpRequestTimeoutMs,
    keepAliveTimeoutMs: config.httpKeepAliveTimeoutMs,
    bodyLimit: config.httpBodyLimit,
    readyTimeoutMs: config.readyTimeoutMs,
    readiness,
    collect,
  });

  let stopped = false;
  return {
    http,
    db,
    accept,
    bus,
    accounts,
    carriers,
    metrics,
    dispatcher,
    receipts,
    inbound,
    webhooks,
    sweeper,
    compliance,
    contacts,
    campaigns,
    dispatchPipeline,
    acceptPipeline,
    numberStats,
    collect,
    start() {
      for (const c of carriers) c.start();
      dispatcher.start();
      webhooks.start();
      sweeper.start();
      compliance.start();
      live.start();
      registration?.start();
      for (const j of figureJobs) j.start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await live.stop();
      registration?.stop();
      await http.close();
      await links.drain();
      for (const j of figureJobs) await j.stop();
      await accept.drain();
      await dispatcher.stop();
      // Carriers unbind after their windows drain; receipts and MO that arrive meanwhile are
      // stored before they are answered, and the writers drain after the binds are gone.
      await Promise.all(carriers.map((c) => c.stop()));
      await receipts.stop();
      await inbound.drain();
      await compliance.stop();
      await rejectedPdus.drain();
      sweeper.stop();
      await webhooks.stop();
      transport.close();
      await limits.stop();
      await bus.close();
      if (!opts.db) await db.close();
    },
  };
}
