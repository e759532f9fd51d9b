import { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import {
  type EventBus,
  type EventType,
  type GatewayEvents,
  LocalBus,
  REMOTE_EVENTS,
  type Subscriber,
} from '../messaging/events.ts';

interface Envelope {
  /** Instance that published (its own messages are not delivered twice). */
  o: string;
  e: Array<{ t: EventType; v: unknown[] }>;
}

/**
 * The event bus across instances: local subscribers as with LocalBus, and REMOTE_EVENTS published
 * to Redis in batches (one PUBLISH per 10 ms) for the other instances' subscribers. Bounded: while
 * Redis is unreachable, batches are dropped and counted, never queued without limit.
 */
export class RedisBus implements EventBus {
  private readonly local: LocalBus;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channel: string;
  private buffer: Envelope['e'] = [];
  private buffered = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly stats = { published: 0, received: 0, dropped: 0, malformed: 0 };

  constructor(
    url: string,
    prefix: string,
    private readonly instanceId: string,
    log: Logger,
    private readonly opts = { flushMs: 10, maxBuffered: 50_000 },
  ) {
    this.local = new LocalBus((err, type) => log.error({ err, type }, 'event subscriber failed'));
    this.channel = `${prefix}events`;
    const redisOpts = { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false };
    this.pub = new Redis(url, redisOpts);
    this.sub = new Redis(url, { ...redisOpts, enableOfflineQueue: true });
    for (const r of [this.pub, this.sub])
      r.on('error', (err: Error) => log.debug({ err: err.message }, 'redis bus error'));
    this.sub
      .subscribe(this.channel)
      .catch((err: Error) => log.warn({ err: err.message }, 'redis bus subscribe failed'));
    this.sub.on('message', (_ch: string, raw: string) => this.onMessage(raw));
  }

  publish<K extends EventType>(type: K, events: readonly GatewayEvents[K][]): void {
    if (events.length === 0) return;
    this.local.publish(type, events);
    if (!REMOTE_EVENTS.has(type)) return;
    if (this.buffered + events.length > this.opts.maxBuffered) {
      this.stats.dropped += events.length;
      return;
    }
    this.buffer.push({ t: type, v: events as unknown[] });
    this.buffered += events.length;
    this.timer ??= setTimeout(() => this.flush(), this.opts.flushMs);
  }

  subscribe<K extends EventType>(type: K, fn: Subscriber<K>): () => void {
    return this.local.subscribe(type, fn);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.buffer.length === 0) return;
    const env: Envelope = { o: this.instanceId, e: this.buffer };
    const n = this.buffered;
    this.buffer = [];
    this.buffered = 0;
    if (this.pub.status !== 'ready') {
      this.stats.dropped += n;
      return;
    }
    this.pub.publish(this.channel, JSON.stringify(env)).then(
      () => {
        this.stats.published += n;
      },
      () => {
        this.stats.dropped += n;
      },
    );
  }

  private onMessage(raw: string): void {
    let env: Envelope;
    try {
      env = JSON.parse(raw) as Envelope;
    } catch {
      this.stats.malformed++;
      return;
    }
    if (!env || typeof env !== 'object' || env.o === this.instanceId || !Array.isArray(env.e)) return;
    for (const item of env.e) {
      if (!item || !REMOTE_EVENTS.has(item.t) || !Array.isArray(item.v)) {
        this.stats.malformed++;
        continue;
      }
      this.stats.received += item.v.length;
      this.local.deliver(item.t, item.v as never[], 'remote');
    }
  }

  /** Resolves once Redis answers a ping on both connections (tests, readiness). */
  async ready(): Promise<boolean> {
    try {
      return (await this.pub.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.flush();
    await this.local.close();
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
