import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  DEFAULT_SCENARIO,
  namedScenario,
  SCENARIO_NAMES,
  type Scenario,
  scenarioFromJson,
} from './scenario.ts';
import { SmscSimulator } from './smsc.ts';

const USAGE = `usage: npm run simulator -- [--port 2775] [--control-port 8775] [--host 127.0.0.1]
       [--system-id ID --password PW] [--seed N] [--scenario NAME|FILE.json] [--message-log N]
scenarios: ${SCENARIO_NAMES.join(', ')}`;

function die(msg: string): never {
  process.stderr.write(`simulator: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function int(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535 * 65536) die(`--${name} must be a whole number, got "${v}"`);
  return n;
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      port: { type: 'string' },
      'control-port': { type: 'string' },
      host: { type: 'string' },
      'system-id': { type: 'string' },
      password: { type: 'string' },
      seed: { type: 'string' },
      scenario: { type: 'string' },
      'message-log': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  }));
} catch (err) {
  die((err as Error).message);
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

let scenario: Scenario = DEFAULT_SCENARIO;
const sc = values.scenario as string | undefined;
try {
  if (sc)
    scenario = SCENARIO_NAMES.includes(sc)
      ? namedScenario(sc)
      : scenarioFromJson(JSON.parse(readFileSync(sc, 'utf8')));
} catch (err) {
  die(`--scenario ${sc}: ${(err as Error).message}`);
}

const sim = new SmscSimulator({
  host: (values.host as string | undefined) ?? '127.0.0.1',
  port: int('port', values.port as string | undefined, 2775),
  controlPort: int('control-port', values['control-port'] as string | undefined, 8775),
  systemId: values['system-id'] as string | undefined,
  password: values.password as string | undefined,
  seed: int('seed', values.seed as string | undefined, Date.now() % 2 ** 31),
  scenario,
  // Submits kept for GET /messages (with the time each arrived); benches raise it.
  messageLogSize: int('message-log', values['message-log'] as string | undefined, 10_000),
});

const shutdown = () => {
  void sim.stop().then(() => {
    process.stdout.write(`${JSON.stringify({ msg: 'simulator stopped', stats: sim.stats })}\n`);
    process.exit(0);
  });
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

try {
  const { port, controlPort } = await sim.start();
  process.stdout.write(
    `${JSON.stringify({ msg: 'simulator ready', smpp: `127.0.0.1:${port}`, control: `http://127.0.0.1:${controlPort}`, scenario: scenario.name, pid: process.pid })}\n`,
  );
} catch (err) {
  die(`cannot listen: ${(err as Error).message}`);
}
