/**
 * Consent from inbound replies: each MO attributed to an account is read once for its meaning
 * (keyword, opt-out phrase, HELP, or a reply for review). An opt-out blocks sends to the contact
 * from every number of the account — first in memory on every instance (the gate), then
 * committed with its audit row and exactly one confirmation reply; an opt-in undoes it; HELP is
 * answered once. MO this instance stored are handled at once; the sweep takes the ones an
 * instance stored and could not handle (it stopped, the database failed).
 */
import { AppError } from '../errors/app-error.ts';
import type { Logger } from '../logger.ts';
import type { EventBus, InboundEvent, MoKind } from '../messaging/events.ts';
import type { MessageDraft } from '../messaging/model.ts';
import { classifyReply } from './consent.ts';
import type { OptOutGate } from './gate.ts';
import { KeywordMatcher } from './keywords.ts';
import type { ComplianceStore, ConsentChange, InboundForConsent } from './ports.ts';
import { type CampaignReplies, type ComplianceSettings, helpText, withCampaign } from './settings.ts';

export interface ComplianceOptions {
  /** How often unhandled MO are looked for. */
  sweepMs: number;
  /** MO younger than this are left to the instance that stored them. */
  sweepAfterMs: number;
}

/** Batches of MO queued for reading at most; beyond, the sweep takes them from the database. */
const MAX_QUEUED = 50;

export type ReplyComposer = (
  accountId: string,
  from: string,
  to: string,
  body: string,
) => Promise<MessageDraft>;

export class ComplianceService {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly matchers = new WeakMap<ComplianceSettings['keywords'], KeywordMatcher>();
  private unsubscribe: Array<() => void> = [];
  private queued = 0;

  constructor(
    private readonly store: ComplianceStore,
    private readonly gate: OptOutGate,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly compose: ReplyComposer,
    private readonly opts: ComplianceOptions,
  ) {
    this.unsubscribe.push(
      bus.subscribe('message.inbound', (events, origin) => {
        if (origin !== 'local') return;
        const ids = events.filter((e: InboundEvent) => e.accountId !== null).map((e) => e.id);
        // Under a flood of MO the queue stays bounded: what is not queued stays unhandled in the
        // database, and the sweep reads it.
        if (ids.length > 0 && this.queued < MAX_QUEUED) this.enqueue(() => this.handleIds(ids));
      }),
      bus.subscribe('consent.gate', (events, origin) => {
        if (origin !== 'remote') return;
        for (const e of events) {
          if (e.blocked) this.gate.block(e.numbers, e.contact, e.exempt);
          else this.gate.unblock(e.numbers, e.contact);
        }
      }),
    );
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.queued < MAX_QUEUED) this.enqueue(() => this.sweep());
    }, this.opts.sweepMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const u of this.unsubscribe.splice(0)) u();
    await this.running;
  }

  /** Work runs one batch at a time, so one contact's replies are handled in arrival order. */
  private enqueue(fn: () => Promise<void>): void {
    this.queued++;
    this.running = this.running
      .then(fn)
      .catch((err: unknown) => {
        this.log.warn({ err: (err as Error).message }, 'consent handling failed; the sweep retries');
      })
      .finally(() => {
        this.queued--;
      });
  }

  /** Batches waiting or being handled. */
  get pending(): number {
    return this.queued;
  }

  /** Settles once every queued batch is done (tests, shutdown). */
  idle(): Promise<void> {
    return this.running;
  }

  /** The settings with a campaign's replies and keywords, kept while neither changes (matchers are dear). */
  private readonly merged = new WeakMap<ComplianceSettings, Map<string, ComplianceSettings>>();
  private withCampaign(s: ComplianceSettings, c: CampaignReplies | undefined): ComplianceSettings {
    if (!c) return s;
    const key = JSON.stringify(c);
    const m = this.merged.get(s) ?? new Map<string, ComplianceSettings>();
    this.merged.set(s, m);
    const hit = m.get(key);
    if (hit) return hit;
    if (m.size > 100) m.clear();
    const out = withCampaign(s, c);
    m.set(key, out);
    return out;
  }

  private matcher(s: ComplianceSettings): KeywordMatcher {
    let m = this.matchers.get(s.keywords);
    if (!m) {
      m = new KeywordMatcher(s.keywords);
      this.matchers.set(s.keywords, m);
    }
    return m;
  }

  private async sweep(): Promise<void> {
    const batch = await this.store.unhandled(200, this.opts.sweepAfterMs);
    if (batch.length > 0) await this.handle(batch);
  }

  private async handleIds(ids: string[]): Promise<void> {
    await this.handle(await this.store.inbound(ids));
  }

  private async handle(msgs: InboundForConsent[]): Promise<void> {
    if (msgs.length === 0) return;
    const [settings, campaigns] = await Promise.all([
      this.store.settings(msgs.map((m) => m.accountId)),
      this.store.campaignReplies(msgs.map((m) => m.to)),
    ]);
    const done: string[] = [];
    const review: string[] = [];
    for (const m of msgs) {
      // One reply that cannot be handled (its number gone from the account, a refused row) must
      // not hold back the others: it is left for the sweep, or flagged when retrying cannot help.
      try {
        await this.handleOne(
          m,
          this.withCampaign(settings.get(m.accountId)!, campaigns.get(m.to)),
          done,
          review,
        );
      } catch (err) {
        if (err instanceof AppError && err.httpStatus < 500) {
          review.push(m.id);
          done.push(m.id);
        }
        this.log.warn({ err: (err as Error).message, inbound: m.id }, 'reply not read for consent');
      }
    }
    await this.store.markHandled(done, review);
  }

  private async handleOne(
    m: InboundForConsent,
    s: ComplianceSettings,
    done: string[],
    review: string[],
  ): Promise<void> {
    const meaning = classifyReply(m.body, this.matcher(s));
    if (meaning === undefined) {
      this.handled(m, 'message', done);
      return;
    }
    if (meaning.kind === 'review' || (meaning.source === 'phrase' && !s.detectPhrases)) {
      review.push(m.id);
      this.handled(m, 'review', done);
      return;
    }
    if (meaning.kind === 'help') {
      await this.store.storeHelpReply(m.id, await this.compose(m.accountId, m.to, m.from, helpText(s)));
      this.handled(m, 'help', done);
      return;
    }
    // The opt-out stands even when no confirmation can be made (the number left the account).
    const reply = await this.compose(
      m.accountId,
      m.to,
      m.from,
      meaning.kind === 'opt_out' ? s.optOutReply : s.optInReply,
    ).catch((err: unknown) => {
      if (err instanceof AppError && err.httpStatus < 500) {
        this.log.warn({ err: err.message, inbound: m.id }, 'consent changed without a confirmation');
        return undefined;
      }
      throw err;
    });
    await this.change(
      {
        accountId: m.accountId,
        contact: m.from,
        action: meaning.kind,
        source: meaning.source,
        keyword: meaning.keyword,
        rawText: m.body,
        number: m.to,
        inboundMessageId: m.id,
      },
      reply,
    );
    this.handled(m, meaning.kind, done);
  }

  private handled(m: InboundForConsent, kind: MoKind, done: string[]): void {
    done.push(m.id);
    this.bus.publish('mo.classified', [{ kind }]);
  }

  /**
   * Applies a consent change (an MO, the API, an import). An opt-out closes the gate on every
   * instance before it commits (a failed commit opens it again); an opt-in opens it after.
   * Returns whether the contact's state changed. Rejects when the database fails.
   */
  async change(c: ConsentChange, reply?: MessageDraft): Promise<{ changed: boolean; contactId: string }> {
    const numbers = await this.store.accountNumbers(c.accountId);
    const exempt = reply ? [reply.id] : [];
    if (c.action === 'opt_out') {
      this.gate.block(numbers, c.contact, exempt);
      this.bus.publish('consent.gate', [{ numbers, contact: c.contact, blocked: true, exempt }]);
    }
    let r: { changed: boolean; contactId: string };
    try {
      r = await this.store.applyConsent(c, reply);
    } catch (err) {
      if (c.action === 'opt_out') this.reopen(numbers, c.contact);
      throw err;
    }
    // A second STOP changes nothing, and the gate stays closed: the contact is opted out either way,
    // and opening it could free a submit the first STOP's instance still holds back.
    if (c.action === 'opt_in' && r.changed) this.reopen(numbers, c.contact);
    if (r.changed) {
      const e = { accountId: c.accountId, contactId: r.contactId, contact: c.contact, source: c.source };
      this.bus.publish(c.action === 'opt_out' ? 'contact.opted_out' : 'contact.opted_in', [e]);
      this.log.info(
        { account: c.accountId, contactId: r.contactId, action: c.action, source: c.source },
        'consent changed',
      );
    }
    return r;
  }

  private reopen(numbers: string[], contact: string): void {
    this.gate.unblock(numbers, contact);
    this.bus.publish('consent.gate', [{ numbers, contact, blocked: false, exempt: [] }]);
  }
}
