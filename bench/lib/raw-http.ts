/**
 * The load generator's HTTP/1.1 client: keep-alive connections, one request in flight on each,
 * requests beyond them queued in order, as undici's Pool does with `pipelining: 1` — at a fraction
 * of its CPU. The load generator shares the two vCPUs with the gateway and PostgreSQL: at 2,000
 * POSTs/s undici's Pool took 0.26–0.28 of a core (125–140 µs a request), CPU the gateway under
 * test then waited for. Only what a fastify reply needs is parsed: the status line,
 * Content-Length or chunked framing, `Connection: close`. test/unit/raw-http.test.ts checks it
 * against undici as the oracle.
 */
import net from 'node:net';

const CRLF2 = Buffer.from('\r\n\r\n');

interface Pending {
  head: Buffer;
  body: Buffer;
  resolve: (status: number) => void;
  reject: (err: Error) => void;
}

/** One keep-alive connection carrying one request at a time. */
class Conn {
  private readonly socket: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private current: Pending | undefined;
  private status = 0;
  /** Where the body starts and how long it is (-1: chunked; -2: headers not read yet). */
  private bodyStart = 0;
  private bodyLen = -2;
  /** Chunked: where the next chunk-size line starts. */
  private chunkAt = 0;
  closed = false;

  constructor(
    host: string,
    port: number,
    private readonly onIdle: (c: Conn) => void,
    private readonly onClose: (c: Conn) => void,
  ) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (d: Buffer) => this.onData(d));
    const fail = (err?: Error) => {
      if (this.closed) return;
      this.closed = true;
      const p = this.current;
      this.current = undefined;
      p?.reject(err ?? new Error('connection closed'));
      this.onClose(this);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail());
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  send(p: Pending): void {
    this.current = p;
    this.buf = Buffer.alloc(0);
    this.bodyLen = -2;
    this.socket.cork();
    this.socket.write(p.head);
    this.socket.write(p.body);
    this.socket.uncork();
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    // Bytes with no request out (a server speaking out of turn) have no one to answer.
    if (this.current === undefined) return;
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    if (this.bodyLen === -2) {
      const end = this.buf.indexOf(CRLF2);
      if (end < 0) return;
      const head = this.buf.toString('latin1', 0, end);
      this.status = Number(head.slice(9, 12));
      const lower = head.toLowerCase();
      const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
      this.bodyStart = end + 4;
      this.bodyLen = cl ? Number(cl[1]) : /\r\ntransfer-encoding:\s*chunked/.test(lower) ? -1 : 0;
      this.chunkAt = this.bodyStart;
      if (/\r\nconnection:\s*close/.test(lower)) this.closed = true;
    }
    const complete =
      this.bodyLen >= 0 ? this.buf.length >= this.bodyStart + this.bodyLen : this.chunksComplete();
    if (!complete) return;
    const p = this.current!;
    this.current = undefined;
    this.buf = Buffer.alloc(0);
    p.resolve(this.status);
    if (this.closed) {
      this.socket.destroy();
      this.onClose(this);
    } else this.onIdle(this);
  }

  /**
   * Whether the chunked body has ended: chunk by chunk, by their sizes (a chunk's data may hold
   * "0\r\n\r\n"), to the last chunk and the blank line after its trailers.
   */
  private chunksComplete(): boolean {
    for (;;) {
      const eol = this.buf.indexOf('\r\n', this.chunkAt);
      if (eol < 0) return false;
      const size = Number.parseInt(this.buf.toString('latin1', this.chunkAt, eol), 16);
      if (size === 0) return this.buf.indexOf(CRLF2, eol) >= 0;
      if (!(size > 0)) {
        // Fails the request on this connection (its 'error' rejects it), not the process.
        this.socket.destroy(new Error('bad chunk size'));
        return false;
      }
      const next = eol + 2 + size + 2;
      if (this.buf.length < next) return false;
      this.chunkAt = next;
    }
  }
}

/**
 * Up to `connections` keep-alive connections to `url` (http only), opened as requests need them.
 * `post` resolves with the response's status once its body has arrived, rejects when the
 * connection carrying it fails.
 */
export class RawHttpPool {
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private readonly idle: Conn[] = [];
  private readonly all = new Set<Conn>();
  private readonly queue: Pending[] = [];
  private closed = false;

  constructor(
    url: string,
    private readonly connections: number,
  ) {
    const u = new URL(url);
    if (u.protocol !== 'http:') throw new Error(`RawHttpPool: http only, not ${u.protocol}`);
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(u.port || 80);
    this.hostHeader = u.host;
  }

  post(path: string, headers: Record<string, string>, body: string): Promise<number> {
    const bodyBuf = Buffer.from(body);
    let head = `POST ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\ncontent-length: ${bodyBuf.length}\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    return new Promise<number>((resolve, reject) => {
      if (this.closed) {
        reject(new Error('pool closed'));
        return;
      }
      const p: Pending = { head: Buffer.from(`${head}\r\n`, 'latin1'), body: bodyBuf, resolve, reject };
      const c = this.idle.pop() ?? (this.all.size < this.connections ? this.open() : undefined);
      if (c) c.send(p);
      else this.queue.push(p);
    });
  }

  close(): void {
    this.closed = true;
    for (const c of this.all) c.close();
    this.all.clear();
    this.idle.length = 0;
    for (const p of this.queue.splice(0)) p.reject(new Error('pool closed'));
  }

  private open(): Conn {
    const c = new Conn(
      this.host,
      this.port,
      (conn) => {
        const next = this.queue.shift();
        if (next) conn.send(next);
        else this.idle.push(conn);
      },
      (conn) => {
        this.all.delete(conn);
        const i = this.idle.indexOf(conn);
        if (i >= 0) this.idle.splice(i, 1);
        // A queued request gets a new connection in place of the one that closed.
        const next = this.closed ? undefined : this.queue.shift();
        if (next) this.open().send(next);
      },
    );
    this.all.add(c);
    return c;
  }
}
