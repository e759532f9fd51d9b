import { AppError } from '../errors/app-error.ts';
import { toE164 } from '../numbers/phone.ts';
import { Batcher } from '../store/batcher.ts';
import { classifyDbError, dbErrorToAppError } from '../store/db-errors.ts';
import {
  type Accepted,
  acceptedOf,
  acceptedOfStored,
  type BatchItemResult,
  policyError,
  writeError,
} from './accept-results.ts';
import { type AcceptCandidate, type ComposePolicy, checkRequest, draftFor } from './compose.ts';
import { DEFAULT_PROFILE } from './encode-profile.ts';
import { type EventBus, type GatewayEvents, observedWrite } from './events.ts';
import { newMessageId } from './ids.ts';
import type { MessageDraft, SendRequest } from './model.ts';
import type { Pipeline } from './pipeline.ts';
import type { MessageStore, MessageView, NumberDirectory, SendingNumber } from './ports.ts';
import { type Recipient, Recipients } from './recipients.ts';
import type { Router } from './router.ts';
import { chooseSender, NO_HINTS, type SenderDirectory, type SenderHints } from './sender.ts';
import { TtlBatchCache } from './ttl-cache.ts';
import { TurnBatch } from './turn-batch.ts';
import type { Reason } from './vocabulary.ts';

export interface AcceptOptions extends ComposePolicy {
  /** Drafts held by the writer above which requests are refused with OVERLOADED (503). */
  maxPending: number;
  /** Checks a callback URL's form and literal address; throws INVALID_CALLBACK_URL. */
  checkCallbackUrl: (url: string) => void;
}

/**
 * The accept path: checks a request, runs the accept policies, encodes for the route's carrier,
 * then commits through one batching writer, so that many concurrent requests share one INSERT.
 * A request is answered only after its row is committed: "accepted" means stored. A row the
 * database refuses fails alone (the batch is split until it stands alone); a database that is
 * unavailable fails the request with DATABASE_UNAVAILABLE (503).
 */
export class AcceptService {
  private readonly writer: Batcher<MessageDraft, boolean>;
  private readonly recipients: Recipients;
  /** A guessed draft's deferral, counted (message.decided) only once the draft is stored. */
  private readonly deferredBy = new WeakMap<MessageDraft, GatewayEvents['message.decided']>();
  /** The account's numbers, at most 5 s old (an admin change here invalidates at once). */
  private readonly numbers: TtlBatchCache<SendingNumber[]>;
  private ref = Math.floor(Math.random() * 256);
  /**
   * Single requests of one account that arrive in one turn of the event loop are prepared
   * together: the policies' context, the recipients' look-up and the pipeline once for all of
   * them. An unexpected error (not an AppError) is isolated: each is prepared alone again.
   */
  private readonly singles = new TurnBatch<string, SendRequest, MessageDraft | AppError>(
    (accountId, reqs) => this.prepare(accountId, reqs, undefined),
    (err) => !(err instanceof AppError),
  );
  /** The same on the guess "no contact" (Recipients): a draft, or undefined where it must be read. */
  private readonly guessedSingles = new TurnBatch<string, SendRequest, MessageDraft | undefined>(
    async (accountId, reqs) =>
      (await this.prepare(accountId, reqs, undefined, undefined, true)).map((d) =>
        d instanceof AppError ? undefined : d,
      ),
    (err) => !(err instanceof AppError),
  );

  constructor(
    private readonly store: MessageStore,
    directory: NumberDirectory,
    senders: SenderDirectory,
    private readonly router: Router,
    private readonly pipeline: Pipeline<AcceptCandidate>,
    private readonly bus: EventBus,
    private readonly opts: AcceptOptions,
    // 4 ms, not 2: half the INSERTs at 2,000/s and a lower p99 with the carrier up (docs/benchmarks.md, stop 34).
    writer = { maxItems: 2000, maxDelayMs: 4, concurrency: 4 },
  ) {
    this.numbers = new TtlBatchCache(
      async (ids) =>
        new Map(await Promise.all(ids.map(async (id) => [id, await directory.listNumbers(id)] as const))),
      5_000,
    );
    this.writer = new Batcher(
      observedWrite(bus, 'accept', async (drafts: MessageDraft[]) => {
        // One statement (messages and segments in CTEs) is atomic on its own: no BEGIN/COMMIT round trips.
        try {
          const inserted = await this.store.insertDrafts(drafts, new Date());
          return drafts.map((d) => inserted.has(d.id));
        } catch (err) {
          return this.settleLostInsert(drafts, err);
        }
      }),
      { ...writer, maxPending: opts.maxPending, isolate: (err) => classifyDbError(err) === 'data' },
    );
    this.recipients = new Recipients(senders, bus, {
      defaultRegion: opts.defaultRegion,
      maxPending: opts.maxPending,
    });
  }

  /**
   * The connection may drop after PostgreSQL committed the insert and before its answer came:
   * answering 503 then would make the client send again. The ids are ours, so ask; when the
   * database cannot even be asked, the 503 stands (a retry with the same Idempotency-Key is safe).
   */
  private async settleLostInsert(drafts: MessageDraft[], err: unknown): Promise<boolean[]> {
    if (classifyDbError(err) !== 'unavailable') throw err;
    const stored = await this.store.storedIds(drafts.map((d) => d.id)).catch(() => undefined);
    if (stored === undefined || stored.size === 0) throw err;
    return drafts.map((d) => stored.has(d.id));
  }

  private async accountNumbers(accountId: string): Promise<SendingNumber[]> {
    try {
      return (await this.numbers.get([accountId])).get(accountId) ?? [];
    } catch (err) {
      throw dbErrorToAppError(err);
    }
  }

  /**
   * A message the gateway itself sends (a compliance reply) from one of the account's numbers:
   * encoded for its route, no accept policies (it goes to a contact who may have opted out).
   * Throws NUMBER_NOT_FOUND when `from` is not the account's, DATABASE_UNAVAILABLE when the
   * numbers cannot be read.
   */
  async composeReply(accountId: string, from: string, to: string, body: string): Promise<MessageDraft> {
    const sender = this.resolveFrom(await this.accountNumbers(accountId), from, NO_HINTS);
    const now = new Date();
    const c: AcceptCandidate = {
      id: newMessageId(),
      accountId,
      from: sender.e164,
      to,
      numberType: sender.type,
      body,
      statusCallback: undefined,
      metadata: undefined,
      sendAt: undefined,
      idempotencyKey: undefined,
      requestHash: undefined,
      now,
    };
    const profile = this.router.primaryProfile(c.numberType, c.to) ?? DEFAULT_PROFILE;
    this.ref = (this.ref + 1) & 0xffff;
    return draftFor(c, profile, this.opts, this.ref, undefined);
  }

  /** Forget cached numbers (and the default number) after an admin change. */
  invalidateNumbers(accountId: string): void {
    this.numbers.invalidate(accountId);
    this.recipients.invalidate(accountId);
  }

  private resolveFrom(list: SendingNumber[], from: string | undefined, hints: SenderHints): SendingNumber {
    if (from === undefined) {
      const chosen = chooseSender(list, hints);
      if (!chosen) throw new AppError('NO_SENDER_NUMBER');
      return chosen.number;
    }
    const exact = list.find((n) => n.e164 === from.trim());
    if (exact) return exact;
    const e164 = toE164(from, this.opts.defaultRegion, 'INVALID_FROM_NUMBER');
    const n = list.find((x) => x.e164 === e164);
    if (!n)
      throw new AppError(
        'NUMBER_NOT_FOUND',
        `from ${from.slice(0, 64)} is not one of this account's numbers`,
      );
    return n;
  }

  /**
   * Candidates → policies → drafts; per item either a draft or the AppError that stopped it. With
   * `guess`, recipients are guessed (Recipients.guess), not read: an item is undefined where the
   * guess cannot be made or a policy refused it; its AppErrors are not final (a contact's facts
   * may change them) and are not counted.
   */
  private prepare(
    accountId: string,
    reqs: readonly SendRequest[],
    idempotencyKey: string | undefined,
    check?: (req: SendRequest) => void,
    guess?: false,
  ): Promise<Array<MessageDraft | AppError>>;
  private prepare(
    accountId: string,
    reqs: readonly SendRequest[],
    idempotencyKey: undefined,
    check: undefined,
    guess: true,
  ): Promise<Array<MessageDraft | AppError | undefined>>;
  private async prepare(
    accountId: string,
    reqs: readonly SendRequest[],
    idempotencyKey: string | undefined,
    check?: (req: SendRequest) => void,
    guess = false,
  ): Promise<Array<MessageDraft | AppError | undefined>> {
    const list = await this.accountNumbers(accountId);
    const recipientOf: (req: SendRequest) => Recipient | undefined = guess
      ? await this.recipients.guess(accountId, reqs)
      : await this.recipients.read(accountId, reqs);
    const now = new Date();
    const out: Array<MessageDraft | AppError | undefined> = new Array(reqs.length);
    const candidates: Array<{ i: number; c: AcceptCandidate; r: Recipient }> = [];
    reqs.forEach((req, i) => {
      try {
        check?.(req);
        const r = recipientOf(req);
        if (r === undefined) return;
        const from = this.resolveFrom(list, req.from, r.hints);
        const c = checkRequest(
          req,
          { accountId, from, idempotencyKey, now },
          this.opts,
          this.opts.checkCallbackUrl,
        );
        // What was read about the recipient saves the compliance policies a second look-up.
        if (c.to === r.to) {
          c.contact = r.answer.contact;
          if (c.contact) c.contactStored = true;
          if (r.guessed) c.guessedNewContact = true;
        } else if (r.guessed) return;
        c.senderRegistered = from.registered;
        c.senderBacklogUntil = from.backlogUntil;
        candidates.push({ i, c, r });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        out[i] = err;
      }
    });
    let verdicts: Awaited<ReturnType<Pipeline<AcceptCandidate>['run']>>;
    try {
      verdicts = await this.pipeline.run(candidates.map((x) => x.c));
    } catch (err) {
      throw dbErrorToAppError(err);
    }
    const decided = new Map<string, GatewayEvents['message.decided']>();
    const tally = (c: AcceptCandidate, decision: 'refused' | 'deferred', reason: Reason) => {
      const key = `${c.from} ${decision} ${reason}`;
      const e = decided.get(key) ?? { accountId, from: c.from, decision, reason, count: 0 };
      e.count++;
      decided.set(key, e);
    };
    candidates.forEach(({ i, c, r }, k) => {
      const v = verdicts[k]!;
      const d = v.decision;
      if (c.guessRefused) {
        this.recipients.refuse(accountId);
        return;
      }
      if (d.kind === 'reject') {
        if (guess) return;
        tally(c, 'refused', d.reason);
        out[i] = policyError(d.code, d.message, d.retryAfterMs);
        return;
      }
      // A future sendAt is what was asked, not a policy's decision.
      const deferred = d.kind === 'defer' && d.reason !== 'scheduled';
      if (deferred && !guess) tally(c, 'deferred', d.reason);
      const body = v.body ?? c.body;
      const profile = this.router.primaryProfile(c.numberType, c.to) ?? DEFAULT_PROFILE;
      this.ref = (this.ref + 1) & 0xffff;
      try {
        const draft = draftFor(
          c,
          profile,
          this.opts,
          this.ref,
          d.kind === 'defer' ? d.until : undefined,
          body,
          v.links,
        );
        if (v.warnings) draft.warnings = v.warnings;
        if (r.guessed) {
          draft.guess = { accountDefault: r.guessedDefault };
          if (deferred)
            this.deferredBy.set(draft, {
              accountId,
              from: c.from,
              decision: 'deferred',
              reason: d.reason,
              count: 1,
            });
        }
        out[i] = draft;
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        if (!guess) out[i] = err;
      }
    });
    if (decided.size > 0) this.bus.publish('message.decided', [...decided.values()]);
    return out;
  }

  /**
   * Accepts one message. Same Idempotency-Key and same request ⇒ the first answer again; same key
   * and a different request ⇒ IDEMPOTENCY_CONFLICT (409). Database unavailable ⇒ 503.
   */
  async acceptOne(
    accountId: string,
    req: SendRequest,
    idempotencyKey?: string,
  ): Promise<{ accepted: Accepted; replayed: boolean }> {
    if (this.recipients.mayGuess(accountId, req, idempotencyKey)) {
      const guessed = await this.guessedSingles.add(accountId, req);
      if (guessed !== undefined) {
        let stored: boolean;
        try {
          stored = await this.writer.add(guessed);
        } catch (err) {
          throw writeError(err);
        }
        // Stored, the message created the contact; skipped, the contact was there.
        this.recipients.know(accountId, guessed.to);
        if (stored) {
          const deferred = this.deferredBy.get(guessed);
          if (deferred) this.bus.publish('message.decided', [deferred]);
          this.bus.publish('message.accepted', [{ accountId, count: 1 }]);
          return { accepted: acceptedOf(guessed), replayed: false };
        }
      }
    }
    const d =
      idempotencyKey === undefined
        ? await this.singles.add(accountId, req)
        : (await this.prepare(accountId, [req], idempotencyKey))[0];
    if (d instanceof AppError) throw d;
    const draft = d!;
    let inserted: boolean;
    try {
      inserted = await this.writer.add(draft);
    } catch (err) {
      throw writeError(err);
    }
    if (inserted) {
      this.bus.publish('message.accepted', [{ accountId, count: 1 }]);
      return { accepted: acceptedOf(draft), replayed: false };
    }
    let existing: { hash: string; message: MessageView } | undefined;
    try {
      existing = (await this.store.byIdempotencyKeys(accountId, [idempotencyKey!])).get(idempotencyKey!);
    } catch (err) {
      throw dbErrorToAppError(err);
    }
    if (!existing)
      throw new AppError(
        'DATABASE_UNAVAILABLE',
        'the idempotent insert was skipped but no row was found; try again',
      );
    if (existing.hash !== draft.requestHash) throw new AppError('IDEMPOTENCY_CONFLICT');
    return { accepted: acceptedOfStored(existing.message), replayed: true };
  }

  /**
   * Accepts the valid items of a batch; each item succeeds or fails on its own (invalid ones get
   * their error, in order; `check` may refuse an item with an AppError). Rejects as a whole only
   * when the database is unavailable.
   */
  async acceptBatch(
    accountId: string,
    reqs: SendRequest[],
    check?: (req: SendRequest) => void,
  ): Promise<BatchItemResult[]> {
    const prepared = await this.prepare(accountId, reqs, undefined, check);
    const drafts: Array<{ index: number; draft: MessageDraft }> = [];
    const results: BatchItemResult[] = new Array(reqs.length);
    prepared.forEach((p, index) => {
      if (p instanceof AppError) results[index] = { index, error: { code: p.code, message: p.message } };
      else drafts.push({ index, draft: p });
    });
    let settled: PromiseSettledResult<boolean>[];
    try {
      settled = await this.writer.addAll(drafts.map((d) => d.draft));
    } catch (err) {
      throw writeError(err);
    }
    let ok = 0;
    settled.forEach((s, k) => {
      const { index, draft } = drafts[k]!;
      if (s.status === 'fulfilled') {
        ok++;
        results[index] = { index, accepted: acceptedOf(draft) };
        return;
      }
      const e = writeError(s.reason);
      if (e instanceof AppError && e.httpStatus < 500)
        results[index] = { index, error: { code: e.code, message: e.message } };
      else throw e;
    });
    if (ok > 0) this.bus.publish('message.accepted', [{ accountId, count: ok }]);
    return results;
  }

  drain(): Promise<void> {
    return this.writer.drain();
  }
}
