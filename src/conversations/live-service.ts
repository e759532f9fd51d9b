import type { Logger } from '../logger.ts';
import type { EventBus } from '../messaging/events.ts';
import { observedWrite } from '../messaging/events.ts';
import type { StatusChange } from '../messaging/model.ts';
import { Batcher, BatcherFullError } from '../store/batcher.ts';
import type { LiveEventStore } from './live-events.ts';
import { LiveInbox } from './live-inbox.ts';

/** What the live inbox needs from storage beyond reading the log. */
export interface LiveLogWriter extends LiveEventStore {
  /** Appends message.status events (for messages in a conversation); returns the accounts that got any. */
  appendStatusEvents(changes: readonly StatusChange[]): Promise<string[]>;
  /** Deletes events older than `olderThanMs`, at most `limit`; returns how many. */
  prune(olderThanMs: number, limit: number): Promise<number>;
  /** Accounts that have at least one conversation. */
  accountsWithThreads(): Promise<string[]>;
}

export interface LiveServiceOptions {
  pollMs: number;
  maxClients: number;
  retentionMs: number;
  pruneMs: number;
  /** How often the accounts with threads are re-read (a lost notification costs at most this). */
  refreshMs: number;
}

/**
 * Wires the live inbox to the gateway's events: a committed MO, consent change or conversation
 * change (here or on another instance, through the bus) makes the account's subscribers read the
 * log; status changes made here are appended to the log in batches (after their own commit: a
 * crash in between loses that status event, never the status). Old events are pruned.
 */
export class LiveService {
  readonly inbox: LiveInbox;
  private readonly statusWriter: Batcher<StatusChange, string[]>;
  private readonly unsubscribe: Array<() => void> = [];
  private pruneTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  /**
   * Accounts with a conversation: only their status changes can be inbox news, so a bulk-only
   * account's statuses cost no statement. Undefined until first read (then everything passes).
   * Threads begin with an MO, which every instance hears of (message.inbound) before a reply in
   * the thread can have a status; the periodic re-read covers a lost notification.
   */
  private threadAccounts: Set<string> | undefined;
  readonly stats = { statusDropped: 0, statusFailed: 0 };

  constructor(
    private readonly store: LiveLogWriter,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly opts: LiveServiceOptions,
  ) {
    this.inbox = new LiveInbox(
      store,
      { pollMs: opts.pollMs, readLimit: 500, maxSubscribers: opts.maxClients },
      (err, accountId) => log.warn({ err, accountId }, 'live inbox read failed; retrying on the next poll'),
    );
    this.statusWriter = new Batcher(
      observedWrite(bus, 'live_status_events', async (changes: StatusChange[]) => {
        const accounts = await store.appendStatusEvents(changes);
        if (accounts.length > 0)
          bus.publish(
            'inbox.appended',
            accounts.map((accountId) => ({ accountId })),
          );
        return changes.map(() => accounts);
      }),
      { maxItems: 2000, maxDelayMs: 5, concurrency: 2, maxPending: 50_000 },
    );
  }

  start(): void {
    this.unsubscribe.push(
      this.bus.subscribe('message.inbound', (events) => {
        for (const e of events) if (e.accountId) this.threadAccounts?.add(e.accountId);
      }),
    );
    const notify = (events: readonly { accountId: string | null }[]) => {
      const seen = new Set<string>();
      for (const e of events) if (e.accountId && !seen.has(e.accountId)) seen.add(e.accountId);
      for (const id of seen) this.inbox.notify(id);
    };
    this.unsubscribe.push(
      this.bus.subscribe('message.inbound', notify),
      this.bus.subscribe('contact.opted_out', notify),
      this.bus.subscribe('contact.opted_in', notify),
      this.bus.subscribe('inbox.appended', notify),
      this.bus.subscribe('message.status', (changes, origin) => {
        if (origin !== 'local') return; // the instance that made the change writes its event
        // 'sending' is the gateway's own step, not news for a person watching the thread
        const known = this.threadAccounts;
        const news = changes.filter(
          (c) => c.status !== 'sending' && (known === undefined || known.has(c.accountId)),
        );
        if (news.length > 0) this.writeStatus(news);
      }),
    );
    this.pruneTimer = setInterval(() => void this.prune(), this.opts.pruneMs);
    this.pruneTimer.unref();
    void this.refreshThreadAccounts();
    this.refreshTimer = setInterval(() => void this.refreshThreadAccounts(), this.opts.refreshMs);
    this.refreshTimer.unref();
  }

  private async refreshThreadAccounts(): Promise<void> {
    try {
      const fresh = new Set(await this.store.accountsWithThreads());
      // Notifications that came in while the read ran stay.
      for (const id of this.threadAccounts ?? []) fresh.add(id);
      this.threadAccounts = fresh;
    } catch (err) {
      this.log.warn({ err }, 'live inbox: accounts with threads not read; retrying');
    }
  }

  private writeStatus(changes: StatusChange[]): void {
    this.statusWriter.addAll(changes).then(
      (r) => {
        const failed = r.filter((x) => x.status === 'rejected').length;
        if (failed === 0) return;
        this.stats.statusFailed += failed;
        this.log.warn({ failed }, 'status events not written to the live inbox');
      },
      (err: unknown) => {
        // Bounded: beyond maxPending the events are dropped (the statuses themselves are stored).
        if (err instanceof BatcherFullError) this.stats.statusDropped += changes.length;
        else this.log.warn({ err }, 'status events not written to the live inbox');
      },
    );
  }

  private async prune(): Promise<void> {
    try {
      while ((await this.store.prune(this.opts.retentionMs, 10_000)) === 10_000);
    } catch (err) {
      this.log.warn({ err }, 'live inbox prune failed');
    }
  }

  /** Closes every live connection (clients resume elsewhere) and writes the status events held. */
  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    clearInterval(this.pruneTimer);
    clearInterval(this.refreshTimer);
    this.inbox.close();
    await this.statusWriter.drain();
  }
}
