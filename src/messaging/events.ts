/**
 * Typed events between components. Publishers hand over batches (one per database write), so a
 * subscriber pays per batch, not per message. The in-process bus below is the default; with
 * REDIS_URL the store's Redis bus forwards the events other instances need (REMOTE_EVENTS).
 */
import type { RecordedClick } from './link-clicks.ts';
import type { AgentClass } from './links.ts';
import type { StatusChange } from './model.ts';
import type { SlotTicket } from './pipeline.ts';
import type { Reason } from './vocabulary.ts';

export interface InboundEvent {
  id: string;
  accountId: string | null;
  from: string;
  to: string;
  segments: number;
  complete: boolean;
  carrierId: string;
  receivedAt: string;
}

export type MoKind = 'message' | 'opt_out' | 'opt_in' | 'help' | 'review';

export interface ConsentEvent {
  accountId: string;
  contactId: string;
  contact: string;
  source: 'keyword' | 'phrase' | 'api' | 'import';
}

export interface GatewayEvents {
  /** Messages committed by the API (one event per request, `count` messages). */
  'message.accepted': { accountId: string; count: number };
  /** Accept policies refused (the API answered 4xx) or deferred messages, by reason. */
  'message.decided': {
    accountId: string;
    from: string;
    decision: 'refused' | 'deferred';
    reason: Reason;
    count: number;
  };
  /** A message changed status (and a callback was queued if it has a statusCallback). */
  'message.status': StatusChange;
  /** An MO message was stored (attributed to an account, or not). */
  'message.inbound': InboundEvent;
  /** A final receipt arrived from a carrier; `outcome` says what became of it. */
  'receipt.received': {
    carrierId: string;
    state: string;
    outcome: 'applied' | 'parked' | 'intermediate';
    /** The receipt's err: code (e.g. 541: over the limit). */
    errorCode?: string | null | undefined;
  };
  /** A parked receipt never matched a sent segment within its TTL (or was dropped under load). */
  'receipt.unmatched': { carrierId: string; smscId: string; cause: 'ttl' | 'overflow' | 'invalid' };
  /** A submit_sm got an answer (or none); `result` is ok, or the SMPP-level outcome code. */
  'submit.result': { carrierId: string; result: string; commandStatus: number | undefined };
  /**
   * A paced segment was written at its send slot, or `lateMs` after it (the limits then hold back
   * the slot a second after it).
   */
  'slot.written': { ticket: SlotTicket | undefined; lateMs: number };
  /** A paced segment whose slot was never written (withdrawn, re-split, no carrier in time). */
  'slot.unused': { ticket: SlotTicket | undefined };
  /** Segments dispatch sent back to wait in the database, by why (a policy's reason, no bind, …). */
  'segment.deferred': { reason: Reason; count: number };
  /** A carrier answered a submit from `from` with "over the limit" (ESME_RTHROTTLED; it is retried). */
  'carrier.over_limit': { carrierId: string; from: string };
  /** A PDU from an SMSC was answered with an error and kept for the operator. */
  'pdu.rejected': { carrierId: string; command: string; commandStatus: number; stored: boolean };
  /** A short link was followed (bots too); `agent` says by what kind of client. */
  'link.hit': { agent: AgentClass };
  /** Clicks were counted (committed): one per click, not by bots. */
  'link.clicked': RecordedClick;
  /** A click could not be recorded (the database failed); the visitor was still redirected. */
  'link.click_lost': { agent: AgentClass };
  /** An attributed MO was read for its meaning: a plain message, or a keyword (or a phrase to review). */
  'mo.classified': { kind: MoKind };
  /** A bind changed state (`backoff`: it lost its session or failed to bind, and reconnects). */
  'bind.state': { carrierId: string; state: string };
  /** A status-callback attempt. */
  'webhook.attempt': { result: 'delivered' | 'failed' | 'abandoned' | 'blocked' };
  /** An API key was revoked: every instance drops it from its cache at once. */
  'apikey.revoked': { keyHash: string };
  /**
   * Before an opt-out commits: withdraw unwritten submits from these numbers to `contact`
   * (`blocked`), except the compliance replies `exempt`; after an opt-in: allow them again.
   */
  'consent.gate': { numbers: string[]; contact: string; blocked: boolean; exempt: string[] };
  /** A contact revoked consent (committed). */
  'contact.opted_out': ConsentEvent;
  /** A contact gave consent again (committed). */
  'contact.opted_in': ConsentEvent;
  /** Events were appended to these accounts' live-inbox logs (committed): live inboxes read them. */
  'inbox.appended': { accountId: string };
  /** One batched database write finished (or failed): how long it took and for how many items. */
  'db.write': { writer: WriterName; items: number; seconds: number; ok: boolean; error?: unknown };
}

/** The batching writers, each one label value of the write metrics. */
export type WriterName =
  | 'accept'
  | 'outcomes'
  | 'receipts'
  | 'inbound'
  | 'inbound_parts'
  | 'contact_lookup'
  | 'sender_hints'
  | 'live_status_events'
  | 'first_message_claims'
  // Not a batcher: the dispatcher's claims of due segments (items: segments claimed). A slow
  // claim under a bulk load is what made held segments miss their rate-limit slots.
  | 'claim';

export type EventType = keyof GatewayEvents;
export type EventOrigin = 'local' | 'remote';
export type Subscriber<K extends EventType> = (
  events: readonly GatewayEvents[K][],
  origin: EventOrigin,
) => void;

/** Events other instances must see (live inboxes, caches); the rest stay in the instance that made them. */
export const REMOTE_EVENTS: ReadonlySet<EventType> = new Set<EventType>([
  'message.status',
  'message.inbound',
  'apikey.revoked',
  'consent.gate',
  'contact.opted_out',
  'contact.opted_in',
  'inbox.appended',
]);

/**
 * Publish/subscribe for gateway events. `publish` never throws and never waits: a subscriber
 * that throws is logged by the bus, not by the publisher.
 */
export interface EventBus {
  publish<K extends EventType>(type: K, events: readonly GatewayEvents[K][]): void;
  /** Returns the unsubscribe function. */
  subscribe<K extends EventType>(type: K, fn: Subscriber<K>): () => void;
  close(): Promise<void>;
}

/** In-process bus: subscribers run synchronously, in subscription order, each isolated from the others. */
export class LocalBus implements EventBus {
  private readonly subs = new Map<EventType, Array<Subscriber<EventType>>>();

  constructor(private readonly onError: (err: unknown, type: EventType) => void = () => undefined) {}

  publish<K extends EventType>(type: K, events: readonly GatewayEvents[K][]): void {
    this.deliver(type, events, 'local');
  }

  /** Delivers to local subscribers; the Redis bus calls it for events from other instances. */
  deliver<K extends EventType>(type: K, events: readonly GatewayEvents[K][], origin: EventOrigin): void {
    if (events.length === 0) return;
    const list = this.subs.get(type);
    if (!list) return;
    for (const fn of list) {
      try {
        (fn as Subscriber<K>)(events, origin);
      } catch (err) {
        this.onError(err, type);
      }
    }
  }

  subscribe<K extends EventType>(type: K, fn: Subscriber<K>): () => void {
    const list = this.subs.get(type) ?? [];
    list.push(fn as unknown as Subscriber<EventType>);
    this.subs.set(type, list);
    return () => {
      const l = this.subs.get(type);
      if (l)
        this.subs.set(
          type,
          l.filter((f) => f !== (fn as unknown)),
        );
    };
  }

  async close(): Promise<void> {
    this.subs.clear();
  }
}

/**
 * Wraps a batch writer's flush so every database round trip is reported as a `db.write` event
 * (its duration and size), whether it succeeded or threw; the flush's result or error is passed on.
 */
export function observedWrite<T, R>(
  bus: EventBus,
  writer: WriterName,
  flush: (items: T[]) => Promise<R[]>,
): (items: T[]) => Promise<R[]> {
  return async (items) => {
    const t0 = performance.now();
    try {
      const r = await flush(items);
      bus.publish('db.write', [
        { writer, items: items.length, seconds: (performance.now() - t0) / 1000, ok: true },
      ]);
      return r;
    } catch (err) {
      bus.publish('db.write', [
        { writer, items: items.length, seconds: (performance.now() - t0) / 1000, ok: false, error: err },
      ]);
      throw err;
    }
  };
}
