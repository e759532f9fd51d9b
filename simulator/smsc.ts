import net from 'node:net';
import tls from 'node:tls';
import { EsmeConnection } from './connection.ts';
import { startControlServer } from './control.ts';
import { NumberProvider } from './provider.ts';
import { Registry } from './registry.ts';
import { DEFAULT_SCENARIO, type Scenario } from './scenario.ts';
import { type MoRequest, type SimStats, SmscCore } from './smsc-core.ts';

export interface SimulatorOptions {
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** Control HTTP API port on loopback; undefined = no control server, 0 = a free port. */
  controlPort?: number | undefined;
  systemId?: string | undefined;
  password?: string | undefined;
  seed?: number;
  scenario?: Scenario;
  /** How many submits to keep for GET /messages. */
  messageLogSize?: number;
  /** Serve SMPP over TLS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer } | undefined;
}

/**
 * The bundled SMSC: binds with credential checks, submit_sm answers and receipts, fault
 * injection by scenario, MO injection. Imports only `smpp` and `node:` modules.
 */
export class SmscSimulator {
  readonly core: SmscCore;
  /** Numbers for sale (the provider API of the control server). */
  readonly provider: NumberProvider;
  /** Brand review (the registry API of the control server). */
  readonly registry = new Registry();
  private server: net.Server | undefined;
  private control: { port: number; close: () => Promise<void> } | undefined;
  port = 0;
  controlPort: number | undefined;

  constructor(private readonly opts: SimulatorOptions = {}) {
    this.core = new SmscCore(
      opts.scenario ?? DEFAULT_SCENARIO,
      { systemId: opts.systemId, password: opts.password },
      opts.seed ?? 1,
      opts.messageLogSize ?? 10_000,
    );
    this.provider = new NumberProvider(opts.seed ?? 1);
  }

  get stats(): SimStats {
    return this.core.stats;
  }

  async start(): Promise<{ port: number; controlPort: number | undefined }> {
    const onSocket = (socket: net.Socket) => {
      this.core.stats.connections++;
      this.core.connections.add(new EsmeConnection(socket, this.core));
    };
    const server = this.opts.tls
      ? tls.createServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, onSocket)
      : net.createServer(onSocket);
    server.on('error', () => undefined);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 2775, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    if (this.opts.controlPort !== undefined) {
      this.control = await startControlServer(this, this.opts.host ?? '127.0.0.1', this.opts.controlPort);
      this.controlPort = this.control.port;
    }
    return { port: this.port, controlPort: this.controlPort };
  }

  setScenario(s: Scenario): void {
    this.core.scenario = s;
  }

  get scenario(): Scenario {
    return this.core.scenario;
  }

  injectMo(req: MoRequest): number {
    return this.core.injectMo(req);
  }

  /** Drops every ESME connection now (fault on demand). */
  dropConnections(): number {
    const n = this.core.connections.size;
    for (const c of [...this.core.connections]) c.close();
    this.core.stats.dropped += n;
    return n;
  }

  /** Sends unbind on every bound connection (an SMSC going away politely); returns how many. */
  unbindAll(): number {
    return this.core.unbindAll();
  }

  reset(): void {
    this.core.resetState();
  }

  /** Unbinds nobody politely: closes the listener and every connection. */
  async stop(): Promise<void> {
    await this.control?.close();
    for (const c of [...this.core.connections]) c.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
