/**
 * What the accept path knows of each recipient before its policies run: the sender rule's hints
 * and the recipient's consent, zone and first-message facts, all from the contact row.
 *
 * Read: concurrent requests share one statement (`SenderDirectory.senderHints`).
 *
 * Guessed: a message to someone who is not yet a contact of the account (a bulk send's usual
 * recipient) needs nothing from that row — there is none. So a single request may be prepared on
 * the guess that there is none, which saves its round trip to PostgreSQL: the insert verifies the
 * guess in the same statement (`MessageDraft.guess`) and skips the draft when it is wrong, and the
 * caller then reads the recipient and prepares again. The guess is not made for a recipient known
 * to be a contact (read, created by a send, or heard from), for a request naming a user, nor for
 * an account whose policies refused a guess lately.
 */
import { AppError } from '../errors/app-error.ts';
import { toE164 } from '../numbers/phone.ts';
import { Batcher } from '../store/batcher.ts';
import { dbErrorToAppError } from '../store/db-errors.ts';
import { writeError } from './accept-results.ts';
import { type EventBus, observedWrite } from './events.ts';
import { UUID } from './ids.ts';
import type { SendRequest } from './model.ts';
import {
  NO_HINTS,
  type SenderAnswer,
  type SenderDirectory,
  type SenderHints,
  type SenderQuery,
} from './sender.ts';
import { TtlBatchCache } from './ttl-cache.ts';

/** One request's recipient: hints for the sender rule, the E.164 `to` asked about, and the answer. */
export interface Recipient {
  hints: SenderHints;
  to: string | undefined;
  answer: SenderAnswer;
  /** The answer is the guess "no contact"; the insert must verify it. */
  guessed: boolean;
  /** With `guessed`: the account default the hints carried (undefined: the request named its sender). */
  guessedDefault?: string | null | undefined;
}

export interface RecipientOptions {
  defaultRegion: string;
  maxPending: number;
  /** Recipients remembered as contacts (oldest forgotten first). */
  maxKnown?: number;
  /** How long an account is not guessed for after its policies refused a guess. */
  refuseMs?: number;
}

/**
 * Reads or guesses the recipients of the accept path (see the file's comment). Bounded: at most
 * `maxKnown` recipients and 10,000 refused accounts are remembered; forgetting one only costs a
 * guess that the insert proves wrong. Reads fail with DATABASE_UNAVAILABLE (503) or OVERLOADED.
 */
export class Recipients {
  private readonly hints: Batcher<SenderQuery, SenderAnswer>;
  /** Account defaults for guesses, at most 5 s old (the insert checks them anyway). */
  private readonly defaults: TtlBatchCache<string | null>;
  /** `${accountId} ${e164}` of recipients with a contact row; insertion-ordered, bounded. */
  private readonly known = new Set<string>();
  private readonly refused = new Map<string, number>();
  private readonly maxKnown: number;
  private readonly refuseMs: number;

  constructor(
    senders: SenderDirectory,
    bus: EventBus,
    private readonly opts: RecipientOptions,
  ) {
    this.maxKnown = opts.maxKnown ?? 100_000;
    this.refuseMs = opts.refuseMs ?? 60_000;
    this.hints = new Batcher(
      observedWrite(bus, 'sender_hints', (q: SenderQuery[]) => senders.senderHints(q)),
      { maxItems: 2000, maxDelayMs: 1, concurrency: 4, maxPending: opts.maxPending },
    );
    this.defaults = new TtlBatchCache((ids) => senders.accountDefaults(ids), 5_000, 10_000);
    // Whoever texted in is a contact now: a reply to them is prepared from what is stored.
    bus.subscribe('message.inbound', (events) => {
      for (const e of events) if (e.accountId !== null) this.know(e.accountId, e.from);
    });
  }

  /** Whether a single request may be prepared on a guess (no idempotency key, no user, account not refused). */
  mayGuess(
    accountId: string,
    req: SendRequest,
    idempotencyKey: string | undefined,
    now = Date.now(),
  ): boolean {
    if (idempotencyKey !== undefined || req.userId !== undefined) return false;
    const until = this.refused.get(accountId);
    if (until === undefined) return true;
    if (until > now) return false;
    this.refused.delete(accountId);
    return true;
  }

  /** A policy refused a guess of this account's (it would have written on the contact). */
  refuse(accountId: string, now = Date.now()): void {
    if (this.refused.size >= 10_000) this.refused.clear();
    this.refused.set(accountId, now + this.refuseMs);
  }

  /** The recipient has a contact row: read, created by a stored message, heard from, or a guess proved wrong. */
  know(accountId: string, e164: string): void {
    const k = `${accountId} ${e164}`;
    this.known.delete(k);
    if (this.known.size >= this.maxKnown) this.known.delete(this.known.values().next().value!);
    this.known.add(k);
  }

  /** How many recipients are remembered as contacts (bounded by `maxKnown`). */
  get knownCount(): number {
    return this.known.size;
  }

  private toOf(req: SendRequest): string | undefined {
    try {
      return toE164(req.to, this.opts.defaultRegion, 'INVALID_TO_NUMBER');
    } catch {
      return undefined; // checkRequest reports it
    }
  }

  /**
   * Reads each request's recipient (and user); concurrent requests share one statement. The
   * returned function throws the request's error: DATABASE_UNAVAILABLE (503), UNKNOWN_USER.
   */
  async read(accountId: string, reqs: readonly SendRequest[]): Promise<(req: SendRequest) => Recipient> {
    const queries = new Map<SendRequest, SenderQuery>();
    for (const req of reqs) {
      const userId = req.userId !== undefined && UUID.test(req.userId) ? req.userId.toLowerCase() : undefined;
      queries.set(req, { accountId, to: this.toOf(req), userId });
    }
    const answers = await this.hints.addAll([...queries.values()]);
    const byReq = new Map<SendRequest, PromiseSettledResult<SenderAnswer>>();
    let i = 0;
    for (const [req, q] of queries) {
      const a = answers[i++]!;
      byReq.set(req, a);
      if (a.status === 'fulfilled' && a.value.contact && q.to !== undefined) this.know(accountId, q.to);
    }
    return (req) => {
      const a = byReq.get(req)!;
      if (a.status === 'rejected') throw writeError(a.reason);
      if (req.userId !== undefined && a.value.userDefault === undefined) throw new AppError('UNKNOWN_USER');
      const to = queries.get(req)!.to;
      const hints =
        req.from !== undefined
          ? NO_HINTS
          : // Not `{ ...a.value, … }`: a spread followed by more properties is slow on Node 20 (outcome.ts).
            Object.assign({}, a.value, { userDefault: a.value.userDefault ?? null });
      return { hints, to, answer: a.value, guessed: false };
    };
  }

  /**
   * The guess "no contact" for each request, or undefined for one whose recipient must be read
   * (known as a contact, or `to` unreadable). Reads only the account's default number (cached).
   * Throws DATABASE_UNAVAILABLE (503) when that cannot be read.
   */
  async guess(
    accountId: string,
    reqs: readonly SendRequest[],
  ): Promise<(req: SendRequest) => Recipient | undefined> {
    let accountDefault: string | null;
    try {
      accountDefault = (await this.defaults.get([accountId])).get(accountId) ?? null;
    } catch (err) {
      throw dbErrorToAppError(err);
    }
    const tos = new Map(reqs.map((req) => [req, this.toOf(req)] as const));
    return (req) => {
      const to = tos.get(req);
      if (to === undefined || this.known.has(`${accountId} ${to}`)) return undefined;
      const named = req.from !== undefined;
      return {
        hints: named ? NO_HINTS : { assigned: null, sticky: null, userDefault: null, accountDefault },
        to,
        answer: { assigned: null, sticky: null, userDefault: null, accountDefault, contact: null },
        guessed: true,
        guessedDefault: named ? undefined : accountDefault,
      };
    };
  }

  /** Forget the cached default number after an admin change. */
  invalidate(accountId: string): void {
    this.defaults.invalidate(accountId);
  }
}
