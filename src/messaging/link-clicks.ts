/**
 * The redirector's core: resolves a short code to its URL (cached; concurrent misses share one
 * query) and records clicks in batches. Link-preview bots and crawlers (isbot) are redirected
 * but not counted as clicks.
 */
import { isbot } from 'isbot';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../logger.ts';
import { Batcher } from '../store/batcher.ts';
import type { EventBus } from './events.ts';
import { type AgentClass, LINK_CODE } from './links.ts';

export interface LinkTarget {
  url: string;
}

export interface LinkClick {
  code: string;
  at: Date;
  agent: AgentClass;
}

/** A counted click, with its message. `unique`: the link's first counted click. */
export interface RecordedClick extends LinkClick {
  messageId: string;
  accountId: string;
  from: string;
  numberType: string;
  url: string;
  unique: boolean;
}

/** Links in the store; implemented by store/links-repo.ts. */
export interface LinkStore {
  resolve(codes: readonly string[]): Promise<Map<string, LinkTarget>>;
  /** Records clicks (bots only as link hits); returns the counted ones. */
  recordClicks(clicks: readonly LinkClick[]): Promise<RecordedClick[]>;
}

/** The kind of client from its User-Agent (a label, not an identity). */
export function agentClass(userAgent: string | undefined): AgentClass {
  if (!userAgent) return 'unknown';
  if (isbot(userAgent)) return 'bot';
  return /Mobi|Android|iPhone|iPad|iPod/i.test(userAgent) ? 'mobile' : 'desktop';
}

/**
 * Resolves codes (cached, batched) and records clicks (batched). `resolve` rejects when the store
 * fails on a code it does not hold; `click` never rejects (a lost click is counted and logged).
 */
export class LinkService {
  private readonly cache: LRUCache<string, LinkTarget | false>;
  private readonly lookups: Batcher<string, LinkTarget | undefined>;
  private readonly writer: Batcher<LinkClick, boolean>;

  constructor(
    store: LinkStore,
    private readonly bus: EventBus,
    private readonly log: Logger,
    opts = { cacheEntries: 100_000, missTtlMs: 5_000, maxPending: 20_000 },
  ) {
    // A code that is not there yet may be stored a moment later (another instance's accept): misses expire.
    this.cache = new LRUCache({ max: opts.cacheEntries });
    this.lookups = new Batcher(
      async (codes) => {
        const found = await store.resolve([...new Set(codes)]);
        for (const c of codes) {
          const t = found.get(c);
          this.cache.set(c, t ?? false, t ? {} : { ttl: opts.missTtlMs });
        }
        return codes.map((c) => found.get(c));
      },
      { maxItems: 500, maxDelayMs: 1, concurrency: 4, maxPending: opts.maxPending },
    );
    this.writer = new Batcher(
      async (clicks) => {
        const counted = await store.recordClicks(clicks);
        if (counted.length > 0) this.bus.publish('link.clicked', counted);
        return clicks.map(() => true);
      },
      { maxItems: 2_000, maxDelayMs: 5, concurrency: 4, maxPending: opts.maxPending },
    );
  }

  /** The URL of a code; undefined for codes that are not ours. Rejects when the store fails. */
  async resolve(code: string): Promise<LinkTarget | undefined> {
    if (!LINK_CODE.test(code)) return undefined;
    const hit = this.cache.get(code);
    if (hit !== undefined) return hit || undefined;
    return this.lookups.add(code);
  }

  /**
   * Records a click. A failed write is logged and counted, never thrown: the visitor still gets
   * the redirect.
   */
  async click(code: string, userAgent: string | undefined, at = new Date()): Promise<AgentClass> {
    const agent = agentClass(userAgent);
    this.bus.publish('link.hit', [{ agent }]);
    try {
      await this.writer.add({ code, at, agent });
    } catch (err) {
      this.bus.publish('link.click_lost', [{ agent }]);
      this.log.warn({ err: (err as Error).message }, 'a link click was not recorded');
    }
    return agent;
  }

  drain(): Promise<void> {
    return this.writer.drain();
  }
}
