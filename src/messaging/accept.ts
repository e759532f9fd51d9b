import { AppError } from '../errors/app-error.ts';
import type { NumberType } from '../numbers/phone.ts';
import { toE164 } from '../numbers/phone.ts';
import type { AccountsRepo, SendingNumber } from '../store/accounts-repo.ts';
import { Batcher } from '../store/batcher.ts';
import { type Db, databaseUnavailable } from '../store/db.ts';
import type { MessagesRepo, StoredMessage } from '../store/messages-repo.ts';
import { type ComposePolicy, composeMessage, type MessageDraft, type SendRequest } from './compose.ts';

/** What the API answers for an accepted message. */
export interface Accepted {
  id: string;
  status: string;
  segments: number;
  encoding: string;
}

export type BatchItemResult =
  | { index: number; accepted: Accepted }
  | { index: number; error: { code: string; message: string } };

function notFound(what: string): AppError {
  return new AppError('NUMBER_NOT_FOUND', `${what} is not one of this account's numbers`, {
    httpStatus: 404,
    action: 'fix-request',
  });
}

/**
 * The accept path: validates and encodes, then commits through one batching writer, so that many
 * concurrent requests share one INSERT. A request is answered only after its transaction commits:
 * "accepted" means stored in PostgreSQL.
 */
export class AcceptService {
  private readonly writer: Batcher<MessageDraft[], Set<string>>;
  private readonly numbers = new Map<string, { at: number; list: SendingNumber[] }>();
  private ref = Math.floor(Math.random() * 256);
  onAccepted: (n: number) => void = () => undefined;

  constructor(
    private readonly db: Db,
    private readonly messages: MessagesRepo,
    private readonly accounts: AccountsRepo,
    private readonly policy: ComposePolicy,
    writer: { maxItems: number; maxDelayMs: number; concurrency: number } = {
      maxItems: 2000,
      maxDelayMs: 2,
      concurrency: 4,
    },
  ) {
    this.writer = new Batcher(async (groups) => {
      const now = new Date();
      // One statement (messages and segments in CTEs) is atomic on its own: no BEGIN/COMMIT round trips.
      const inserted = await this.messages.insertDrafts(this.db, groups.flat(), now);
      return groups.map(() => inserted);
    }, writer);
  }

  private async accountNumbers(accountId: string): Promise<SendingNumber[]> {
    const hit = this.numbers.get(accountId);
    if (hit && Date.now() - hit.at < 5_000) return hit.list;
    const list = await this.accounts.listNumbers(accountId);
    this.numbers.set(accountId, { at: Date.now(), list });
    return list;
  }

  /** Forget cached numbers after an admin change. */
  invalidateNumbers(accountId: string): void {
    this.numbers.delete(accountId);
  }

  private resolveFrom(list: SendingNumber[], from: string | undefined): { e164: string; type: NumberType } {
    if (from === undefined) {
      const first = list[0];
      if (!first)
        throw new AppError('NO_SENDING_NUMBER', 'this account has no number to send from; add one first', {
          httpStatus: 422,
          action: 'fix-request',
        });
      return first;
    }
    const exact = list.find((n) => n.e164 === from.trim());
    if (exact) return exact;
    const e164 = toE164(from, this.policy.defaultRegion, 'INVALID_FROM_NUMBER');
    const n = list.find((x) => x.e164 === e164);
    if (!n) throw notFound(`from ${from}`);
    return n;
  }

  private draft(
    accountId: string,
    list: SendingNumber[],
    req: SendRequest,
    idempotencyKey: string | undefined,
    now: Date,
  ): MessageDraft {
    const from = this.resolveFrom(list, req.from);
    this.ref = (this.ref + 1) & 0xff;
    return composeMessage(
      req,
      { accountId, from, idempotencyKey, now, referenceNumber: this.ref },
      this.policy,
    );
  }

  private static toAccepted(d: MessageDraft): Accepted {
    return {
      id: d.id,
      status: d.sendAt ? 'scheduled' : 'queued',
      segments: d.segmentCount,
      encoding: d.encoding,
    };
  }

  private static fromStored(m: StoredMessage): Accepted {
    return { id: m.id, status: m.status, segments: m.segments, encoding: m.encoding };
  }

  /**
   * Accepts one message. Same Idempotency-Key and same request ⇒ the first answer again; same key
   * and a different request ⇒ IDEMPOTENCY_CONFLICT (409). Database trouble ⇒ DATABASE_UNAVAILABLE (503).
   */
  async acceptOne(
    accountId: string,
    req: SendRequest,
    idempotencyKey?: string,
  ): Promise<{ accepted: Accepted; replayed: boolean }> {
    const list = await this.accountNumbers(accountId);
    const d = this.draft(accountId, list, req, idempotencyKey, new Date());
    const inserted = await this.write([d]);
    if (inserted.has(d.id)) {
      this.onAccepted(1);
      return { accepted: AcceptService.toAccepted(d), replayed: false };
    }
    const existing = (await this.messages.byIdempotencyKeys(accountId, [idempotencyKey!])).get(
      idempotencyKey!,
    );
    if (!existing) throw databaseUnavailable(new Error('idempotent insert skipped but no row found'));
    if (existing.hash !== d.requestHash) {
      throw new AppError('IDEMPOTENCY_CONFLICT', 'this Idempotency-Key was used with a different request', {
        httpStatus: 409,
        action: 'fix-request',
      });
    }
    return { accepted: AcceptService.fromStored(existing.message), replayed: true };
  }

  /** Accepts valid items of a batch in one transaction; invalid ones get their error, in order. */
  async acceptBatch(accountId: string, reqs: SendRequest[]): Promise<BatchItemResult[]> {
    const list = await this.accountNumbers(accountId);
    const now = new Date();
    const results: BatchItemResult[] = [];
    const drafts: Array<{ index: number; draft: MessageDraft }> = [];
    reqs.forEach((req, index) => {
      try {
        drafts.push({ index, draft: this.draft(accountId, list, req, undefined, now) });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        results.push({ index, error: { code: err.code, message: err.message } });
      }
    });
    await this.write(drafts.map((d) => d.draft));
    this.onAccepted(drafts.length);
    for (const { index, draft } of drafts) results.push({ index, accepted: AcceptService.toAccepted(draft) });
    return results.sort((a, b) => a.index - b.index);
  }

  private async write(drafts: MessageDraft[]): Promise<Set<string>> {
    if (drafts.length === 0) return new Set();
    try {
      return await this.writer.add(drafts);
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw databaseUnavailable(err);
    }
  }

  drain(): Promise<void> {
    return this.writer.drain();
  }
}
