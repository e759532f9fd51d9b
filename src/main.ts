/**
 * `npm start`: validates config once, starts the bundled simulator when no carrier is configured,
 * binds every carrier, and shuts down gracefully on SIGTERM/SIGINT.
 */
import { SmscSimulator } from '../simulator/smsc.ts';
import { parseCarrierConfig } from './config/carrier-config.ts';
import { type AppConfig, loadConfig } from './config/config.ts';
import { createLogger } from './logger.ts';
import { Carrier } from './smpp/carrier.ts';

let config: AppConfig;
try {
  config = loadConfig();
} catch (err) {
  process.stderr.write(`parley: ${(err as Error).message}\n`);
  process.exit(2);
}
const log = createLogger({ level: config.logLevel });

let simulator: SmscSimulator | undefined;
if (config.simulator) {
  simulator = new SmscSimulator({
    port: config.simulator.port,
    controlPort: config.simulator.controlPort,
    systemId: 'parley',
    password: 'parley',
  });
  await simulator.start();
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
  log.info(
    { smpp: simulator.port, control: `http://127.0.0.1:${simulator.controlPort}` },
    'no carrier configured: bundled SMSC simulator started',
  );
}

const carriers = config.carriers.map(
  (c) =>
    new Carrier(
      c,
      {
        onReceipt: (r, bindId) => log.info({ bindId, messageId: r.messageId, state: r.state }, 'receipt'),
        onMo: (m, bindId) => log.info({ bindId, from: m.from, to: m.to, segments: m.segments }, 'mo'),
        onBindState: (bindId, state, reason) => log.info({ bindId, state, reason }, 'bind state'),
      },
      log,
    ),
);
for (const c of carriers) c.start();

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  await Promise.all(carriers.map((c) => c.stop()));
  await simulator?.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
