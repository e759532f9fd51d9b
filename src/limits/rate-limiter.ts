/**
 * The rate limiter behind the limits policy: a small interface, and Bottleneck behind it. With
 * Redis, Bottleneck's clustering keeps each limit's reservoir in Redis, so every gateway instance
 * draws from the same one; without it, a local reservoir.
 *
 * Why take, not schedule: a message that waits for a limit must wait in the database, holding no
 * lease and no memory, so dispatch never queues a job inside Bottleneck. It asks how much of the
 * reservoir is there and takes that much at once (one weighted draw per sender and batch — one
 * job per message would be timer-bound at a few hundred a second), and defers the rest.
 * The reservoir grows by `amount` every `intervalMs` up to `amount` (reservoirIncrease*): a
 * token bucket one interval deep, so no interval ever carries more than its share, and Redis
 * advances it by whole intervals from the last one (no drift from when it is asked).
 */
import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import type { RateSpec } from './policy-table.ts';

export interface Grant {
  /** Segments taken (0 to the number asked for). */
  granted: number;
}

export interface RateLimiter {
  /**
   * Takes up to `want` segments of `limit`'s allowance now. Rejects when the shared store cannot
   * be reached (nothing was taken; the caller defers).
   */
  take(limit: RateSpec, want: number): Promise<Grant>;
  /** Returns segments taken but not used (a later limit granted fewer). Best effort. */
  giveBack(limit: RateSpec, n: number): Promise<void>;
  /** Limits in memory (each one a reservoir, in Redis or here). */
  readonly size: number;
  close(): Promise<void>;
}

interface Entry {
  limiter: Bottleneck;
  spec: RateSpec;
  usedAt: number;
}

/** How long a limit unused stays in memory (and its Redis keys live). */
const IDLE_MS = 10 * 60_000;

/**
 * Bottleneck reservoirs, one per limit key, created on first use and dropped after `IDLE_MS`
 * unused. With `redisUrl` they live in Redis, over one connection of their own (Bottleneck closes
 * it); `prefix` keeps tests and deployments apart.
 */
export class BottleneckRateLimiter implements RateLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly connection: Bottleneck.IORedisConnection | undefined;
  private readonly sweep: NodeJS.Timeout;

  constructor(
    redisUrl: string | undefined,
    private readonly prefix: string,
    /** A take not answered within this rejects (Bottleneck waits forever for a Redis never reached). */
    private readonly timeoutMs = 1_000,
  ) {
    if (redisUrl) {
      // Commands fail at once while Redis is away (the policy defers) instead of piling up.
      const client = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
      this.connection = new Bottleneck.IORedisConnection({ client, Redis });
      // A lost Redis shows as rejected takes (the policy defers); the connection must not crash us.
      this.connection.on('error', () => undefined);
      // Bottleneck unsubscribes a dropped limiter without handling the promise: with Redis away
      // that rejection would be unhandled. Its subscriber is ours to guard.
      // (`ready` is a promise in the implementation, though its typings call it a method.)
      const ready = (this.connection as unknown as { ready: Promise<{ subscriber: unknown }> }).ready;
      void ready.then(
        ({ subscriber }) => {
          const sub = subscriber as { unsubscribe: (...a: unknown[]) => Promise<unknown> };
          const unsubscribe = sub.unsubscribe.bind(sub);
          sub.unsubscribe = (...a: unknown[]) => unsubscribe(...a).catch(() => undefined);
        },
        () => undefined,
      );
    }
    this.sweep = setInterval(() => this.dropIdle(), 60_000);
    this.sweep.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  take(limit: RateSpec, want: number): Promise<Grant> {
    if (want <= 0) return Promise.resolve({ granted: 0 });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('rate limiter did not answer in time')), this.timeoutMs);
    });
    const taking = this.takeNow(limit, want);
    // A take that times out may still complete: its segments are then taken and unused, which
    // errs on the side of the carrier's limit.
    taking.catch(() => undefined);
    return Promise.race([taking, timeout]).finally(() => clearTimeout(timer));
  }

  private async takeNow(limit: RateSpec, want: number): Promise<Grant> {
    const lim = this.limiterFor(limit);
    const have = Math.floor((await lim.currentReservoir()) ?? 0);
    const ask = Math.min(want, have);
    if (ask <= 0) return { granted: 0 };
    // Atomic in Redis: two instances may both have seen `have`; the one that overdraws gives the
    // overdraft back at once, so the reservoir never goes below zero for long or lets more out.
    const left = await lim.incrementReservoir(-ask);
    if (left >= 0) return { granted: ask };
    const over = Math.min(ask, -left);
    await lim.incrementReservoir(over);
    return { granted: ask - over };
  }

  async giveBack(limit: RateSpec, n: number): Promise<void> {
    if (n <= 0) return;
    const e = this.entries.get(limit.key);
    if (!e) return;
    const back = async () => {
      // Never above one interval's amount: giving back must not make a bigger burst possible.
      const now = Math.floor((await e.limiter.currentReservoir()) ?? 0);
      const room = Math.max(0, e.spec.amount - now);
      if (room > 0) await e.limiter.incrementReservoir(Math.min(n, room));
    };
    let timer: NodeJS.Timeout | undefined;
    // Best effort: segments not given back are only unused allowance.
    await Promise.race([back(), new Promise<void>((r) => (timer = setTimeout(r, this.timeoutMs)))])
      .catch(() => undefined)
      .finally(() => clearTimeout(timer));
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    const all = [...this.entries.values()];
    this.entries.clear();
    // The connection first: terminated, it no longer unsubscribes each limiter on the way out.
    await this.connection?.disconnect(false).catch(() => undefined);
    await Promise.allSettled(all.map((e) => e.limiter.disconnect(false)));
  }

  private limiterFor(spec: RateSpec): Bottleneck {
    const now = Date.now();
    const e = this.entries.get(spec.key);
    if (e && e.spec.amount === spec.amount && e.spec.intervalMs === spec.intervalMs) {
      e.usedAt = now;
      return e.limiter;
    }
    const settings = {
      reservoir: spec.amount,
      reservoirIncreaseAmount: spec.amount,
      reservoirIncreaseInterval: spec.intervalMs,
      reservoirIncreaseMaximum: spec.amount,
    };
    if (e) {
      // The limit changed (an override): the shared reservoir takes the new settings.
      e.spec = spec;
      e.usedAt = now;
      void e.limiter.updateSettings(settings);
      return e.limiter;
    }
    const limiter = new Bottleneck({
      ...settings,
      id: `${this.prefix}limit:${spec.key}`,
      ...(this.connection
        ? { datastore: 'ioredis', connection: this.connection, clearDatastore: false, timeout: IDLE_MS * 2 }
        : {
            datastore: 'local',
            // Locally the reservoir grows on the heartbeat: one that divides the interval keeps
            // the rate exact (a 250 ms beat would turn an 800 ms interval into 1,000 ms).
            heartbeatInterval: spec.intervalMs / Math.ceil(spec.intervalMs / 250),
          }),
    });
    limiter.on('error', () => undefined);
    this.entries.set(spec.key, { limiter, spec, usedAt: now });
    return limiter;
  }

  private dropIdle(): void {
    const cutoff = Date.now() - IDLE_MS;
    for (const [k, e] of this.entries)
      if (e.usedAt < cutoff) {
        this.entries.delete(k);
        void e.limiter.disconnect(false).catch(() => undefined);
      }
  }
}
