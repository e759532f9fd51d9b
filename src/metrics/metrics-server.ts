/**
 * /metrics on a port of its own, answered by a worker thread from the text the main thread renders
 * every `renderEveryMs`: a scrape never waits behind the API's work on the main event loop (at full
 * load it waited tens of ms there). The figures are at most `renderEveryMs` old.
 */
import { Worker } from 'node:worker_threads';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.ts';

// CommonJS, evaluated in the worker: a bundle needs no second entry point for it.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
let text = '';
parentPort.on('message', (m) => { if (typeof m === 'string') text = m; });
const server = http.createServer((req, res) => {
  const path = (req.url || '').split('?')[0];
  if ((req.method === 'GET' || req.method === 'HEAD') && (path === '/metrics' || path === '/')) {
    res.writeHead(200, { 'content-type': workerData.contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: GET /metrics\\n');
  }
});
server.keepAliveTimeout = 65000;
server.requestTimeout = 10000;
server.on('error', (err) => parentPort.postMessage({ error: err.message }));
server.listen(workerData.port, workerData.host, () => {
  const a = server.address();
  parentPort.postMessage({ listening: 'http://' + (a.family === 'IPv6' ? '[' + a.address + ']' : a.address) + ':' + a.port });
});
`;

/** `start` rejects when the port cannot be listened on; `stop` ends the worker. */
export class MetricsServer {
  private worker: Worker | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly collect: () => void,
    private readonly log: Logger,
    private readonly opts: { port: number; host: string; renderEveryMs: number },
  ) {}

  /** Renders once, starts the worker; resolves with its address. Rejects when it cannot listen. */
  async start(): Promise<string> {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { port: this.opts.port, host: this.opts.host, contentType: this.registry.contentType },
    });
    this.worker = worker;
    await this.render();
    const address = await new Promise<string>((resolve, reject) => {
      worker.on('message', (m: { listening?: string; error?: string }) => {
        if (m.listening) resolve(m.listening);
        if (m.error) reject(new Error(`metrics port: ${m.error}`));
      });
      worker.once('error', reject);
    });
    this.timer = setInterval(() => void this.render(), this.opts.renderEveryMs);
    return address;
  }

  private async render(): Promise<void> {
    try {
      this.collect();
      this.worker?.postMessage(await this.registry.metrics());
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'metrics not rendered');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.worker?.terminate();
  }
}
