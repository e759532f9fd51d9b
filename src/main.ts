/**
 * `npm start`: validates config once, opens the database (PGlite in PARLEY_DATA_DIR when
 * DATABASE_URL is unset), starts the bundled simulator as the carrier when none is configured
 * (first start: a demo account and number), listens, and shuts down gracefully on SIGTERM.
 */
import { SmscSimulator } from '../simulator/smsc.ts';
import { createGateway } from './app.ts';
import { parseCarrierConfig } from './config/carrier-config.ts';
import { type AppConfig, loadConfig } from './config/config.ts';
import { prepareDemo } from './demo.ts';
import { createLogger } from './logger.ts';
import { MetricsServer } from './metrics/metrics-server.ts';

let config: AppConfig;
try {
  config = loadConfig();
} catch (err) {
  process.stderr.write(`parley: ${(err as Error).message}\n`);
  process.exit(2);
}
const log = createLogger({ level: config.logLevel });
// Every promise is handled (Biome's noFloatingPromises); should one still escape, it is logged
// and the gateway goes on: one stray rejection must not take every binds and request down.
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection (a bug: please report)'));

let simulator: SmscSimulator | undefined;
if (config.simulator) {
  simulator = new SmscSimulator({
    port: config.simulator.port,
    controlPort: config.simulator.controlPort,
    systemId: 'parley',
    password: 'parley',
  });
  try {
    await simulator.start();
  } catch (err) {
    process.stderr.write(
      `parley: cannot start the bundled simulator on port ${config.simulator.port}: ${(err as Error).message}\n`,
    );
    process.exit(1);
  }
  // The simulator sells numbers too (its control API), unless another provider is configured.
  if (simulator.controlPort !== undefined) {
    config.numberProviderUrl ??= `http://127.0.0.1:${simulator.controlPort}`;
    config.registryUrl ??= `http://127.0.0.1:${simulator.controlPort}`;
  }
  config.carriers.push(
    parseCarrierConfig({
      id: 'simulator',
      host: '127.0.0.1',
      port: simulator.port,
      systemId: 'parley',
      password: 'parley',
      windowSize: 100,
    }),
  );
}

let gateway: Awaited<ReturnType<typeof createGateway>>;
try {
  gateway = await createGateway(config, log);
} catch (err) {
  process.stderr.write(`parley: ${(err as Error).message}\n`);
  await simulator?.stop();
  process.exit(1);
}
gateway.start();
let metricsServer: MetricsServer | undefined;
if (config.metricsListener) {
  metricsServer = new MetricsServer(gateway.metrics.registry, gateway.collect, log, {
    ...config.metricsListener,
    host: config.host,
  });
  log.info({ address: await metricsServer.start() }, 'metrics listening');
}
const address = await gateway.http.listen({ port: config.port, host: config.host });
log.info({ address }, 'parley listening');

if (simulator) {
  // A demo that cannot be prepared is not a reason to stop a running gateway.
  const demo = await prepareDemo(
    gateway.accounts,
    gateway.contacts,
    config,
    address,
    `http://127.0.0.1:${simulator.controlPort}`,
    (accountId, e164) => gateway.campaigns.registerDemo(accountId, e164),
  ).catch((err: Error) => {
    log.error({ err: err.message }, 'demo account not prepared');
    return undefined;
  });
  if (demo) {
    process.stdout.write(
      [
        '',
        `Parley is running on embedded defaults (${config.databaseUrl ? 'PostgreSQL' : `PGlite in ${config.dataDir}`}, bundled SMSC simulator).`,
        `  API:        ${demo.apiUrl}`,
        `  Docs:       ${demo.apiUrl}/docs`,
        `  Simulator:  ${demo.simulatorControlUrl}  (POST /mo to send yourself a reply)`,
        `  Demo:       ${config.dataDir}/demo.json`,
        'Send a first message:',
        `  curl -s ${demo.apiUrl}/v1/messages -H 'Authorization: Bearer ${demo.apiKey}' -H 'content-type: application/json' -d '{"to":"+14155550123","body":"Parley Demo: hello"}'`,
        '',
      ].join('\n'),
    );
  }
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down: intake stopped, draining');
  const force = setTimeout(() => process.exit(1), 30_000);
  force.unref();
  try {
    await gateway.stop();
    await metricsServer?.stop();
    await simulator?.stop();
  } catch (err) {
    log.error({ err }, 'error during shutdown');
  }
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
