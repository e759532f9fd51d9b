import net from 'node:net';

/**
 * A TCP proxy the test controls, between the gateway and PostgreSQL: `cut()` drops every
 * connection at once (what pg_terminate_backend, a failover or a fast shutdown look like to the
 * client), `down()` refuses new connections and drops the open ones (an outage), `hang()` accepts
 * connections and passes no byte either way (a database that stopped answering), `up()` restores.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<{ a: net.Socket; b: net.Socket }>();
  private mode: 'up' | 'down' | 'hang' = 'up';
  port = 0;
  connections = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = net.createServer((a) => this.accept(a));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private accept(a: net.Socket): void {
    a.on('error', () => undefined);
    if (this.mode === 'down') {
      a.destroy();
      return;
    }
    this.connections++;
    if (this.mode === 'hang') {
      const held = { a, b: new net.Socket() };
      this.pairs.add(held);
      a.on('close', () => this.pairs.delete(held));
      return;
    }
    const b = net.connect(this.targetPort, this.targetHost);
    b.on('error', () => a.destroy());
    const pair = { a, b };
    this.pairs.add(pair);
    a.pipe(b);
    b.pipe(a);
    const end = () => {
      a.destroy();
      b.destroy();
      this.pairs.delete(pair);
    };
    a.on('close', end);
    b.on('close', end);
  }

  /** Drops every open connection (new ones are accepted again). */
  cut(): number {
    const n = this.pairs.size;
    for (const p of [...this.pairs]) {
      p.a.destroy();
      p.b.destroy();
    }
    this.pairs.clear();
    return n;
  }

  down(): void {
    this.mode = 'down';
    this.cut();
  }

  /** Stops forwarding: open connections stay open but silent; new ones are accepted and held. */
  hang(): void {
    this.mode = 'hang';
    for (const p of this.pairs) {
      p.a.unpipe(p.b);
      p.b.unpipe(p.a);
      p.a.pause();
      p.b.pause();
    }
  }

  up(): void {
    this.cut();
    this.mode = 'up';
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** The URL of `url` with its host and port replaced by the proxy's. */
export function viaProxy(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}
