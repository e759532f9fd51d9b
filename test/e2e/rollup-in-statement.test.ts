/**
 * Outcomes and receipts are written by one statement each, committed on its own, with the
 * roll-up of every message they touch in it — multi-part ones included, whose status follows
 * from all their segments (docs/benchmarks.md, twelfth VM: the BEGIN and COMMIT round trips cost
 * the accept p99). These tests hold the statement's roll-up to a model of the rules written
 * apart from it, over random batches that mix single- and multi-part messages, and check that
 * a write takes one statement unless a parked receipt matches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRandom } from '../../simulator/prng.ts';
import {
  type ClaimedSegment,
  emptyRollup,
  type ReceiptUpdate,
  type SegmentOutcome,
} from '../../src/messaging/model.ts';
import { FAILURE_STATUSES, type MessageStatus, STATUS_RANK } from '../../src/messaging/vocabulary.ts';
import { type Db, openDb, type Queryable } from '../../src/store/db.ts';
import { DispatchRepo } from '../../src/store/dispatch-repo.ts';
import { MessagesRepo } from '../../src/store/messages-repo.ts';
import { migrate } from '../../src/store/migrate.ts';
import { ReceiptsRepo } from '../../src/store/receipts-repo.ts';
import { rollupMulti } from '../../src/store/rollup.ts';
import { testDraft } from '../helpers/drafts.ts';
import { databaseUrl, dropSchema, uniqueSchema } from '../helpers/services.ts';

const SCHEMA = uniqueSchema(import.meta.filename);
const ACCOUNT = '11111111-1111-4111-8111-111111111111';
const OWNER = 'gw-rollup';
let db: Db;

beforeAll(async () => {
  db = await openDb({
    url: await databaseUrl(),
    dataDir: '',
    schema: SCHEMA,
    statementTimeoutMs: 10_000,
    poolSize: 2,
  });
  await migrate(db, SCHEMA);
  await db.query(`INSERT INTO accounts (id, name, webhook_secret) VALUES ($1, 'rollup', 's')`, [ACCOUNT]);
});

afterAll(async () => {
  await db?.close();
  await dropSchema(SCHEMA);
});

/** GSM-7 bodies of 1 to 4 parts (160 fit one, 153 a part after that). */
const BODY_FOR_PARTS = ['', 'a'.repeat(100), 'b'.repeat(200), 'c'.repeat(400), 'd'.repeat(600)];

async function claimMessages(partsOf: number[], tag: string): Promise<ClaimedSegment[]> {
  const drafts = partsOf.map((p, i) =>
    testDraft(ACCOUNT, {
      to: `+1415555${String(1000 + i)}`,
      body: `${tag} ${BODY_FOR_PARTS[p]}`.slice(0, BODY_FOR_PARTS[p]!.length),
    }),
  );
  await new MessagesRepo(db).insertDrafts(drafts, new Date());
  const { segments } = await new DispatchRepo(db, OWNER).claim(10_000, 600_000);
  return segments;
}

interface Seg {
  status: MessageStatus;
  reason: string | null;
  error: string | null;
}
interface Msg {
  status: MessageStatus;
  reason: string | null;
  error: string | null;
  segs: Seg[];
}

/**
 * The roll-up rules, written apart from the SQL: a single-part message takes its segment's status
 * (with reason and code when it ended other than delivered); a multi-part one is failed as its
 * first failed part, delivered when all parts were, unknown when all ended otherwise, sent when
 * all reached the SMSC, sending when any did. A message never moves back (an unknown one may
 * still learn its real end).
 */
function target(m: Msg): { status: MessageStatus | undefined; reason: string | null; error: string | null } {
  if (m.segs.length === 1) {
    const s = m.segs[0]!;
    const ended = STATUS_RANK[s.status] === 3 && s.status !== 'delivered';
    return { status: s.status, reason: ended ? s.reason : null, error: ended ? s.error : null };
  }
  const fail = m.segs.find((s) => FAILURE_STATUSES.has(s.status));
  if (fail) return { status: fail.status, reason: fail.reason, error: fail.error };
  const ranks = m.segs.map((s) => STATUS_RANK[s.status]);
  if (m.segs.every((s) => s.status === 'delivered'))
    return { status: 'delivered', reason: null, error: null };
  if (ranks.every((r) => r === 3))
    return {
      status: 'unknown',
      reason: m.segs.find((s) => s.status === 'unknown')?.reason ?? null,
      error: null,
    };
  if (Math.min(...ranks) >= 2) return { status: 'sent', reason: null, error: null };
  return { status: Math.max(...ranks) >= 1 ? 'sending' : undefined, reason: null, error: null };
}

function applyTarget(m: Msg): void {
  const t = target(m);
  if (t.status === undefined) return;
  const r = STATUS_RANK[t.status];
  if (!(STATUS_RANK[m.status] < r || (m.status === 'unknown' && t.status !== 'unknown' && r === 3))) return;
  m.reason = t.status === 'delivered' ? null : (t.reason ?? m.reason);
  m.error = t.error ?? m.error;
  m.status = t.status;
}

function chunks<T>(items: T[], next: () => number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; ) {
    const n = 1 + Math.floor(next() * 12);
    out.push(items.slice(i, i + n));
    i += n;
  }
  return out;
}

function shuffle<T>(items: T[], next: () => number): T[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

describe('the roll-up inside the outcome and receipt statements', () => {
  it('matches the rules over random batches mixing single- and multi-part messages', async () => {
    const seed = 20261206;
    const next = createRandom(seed);
    const partsOf = Array.from({ length: 60 }, () => 1 + Math.floor(next() * 4));
    const claimed = await claimMessages(partsOf, 'model');
    const model = new Map<string, Msg>();
    for (const s of claimed) {
      const m = model.get(s.messageId) ?? { status: 'sending', reason: null, error: null, segs: [] };
      m.segs[s.idx] = { status: 'sending', reason: null, error: null };
      model.set(s.messageId, m);
    }
    expect(claimed.length).toBe(partsOf.reduce((a, b) => a + b, 0));

    const outcomes: SegmentOutcome[] = shuffle(claimed, next).map((s) =>
      next() < 0.75
        ? {
            messageId: s.messageId,
            idx: s.idx,
            status: 'sent',
            carrierId: 'sim',
            smscId: `${s.messageId}/${s.idx}`,
            idKey: `k:${s.messageId}/${s.idx}`,
          }
        : {
            messageId: s.messageId,
            idx: s.idx,
            status: 'rejected',
            reason: 'carrier_rejected',
            errorCode: `0x0000004${s.idx}`,
          },
    );
    const repo = new DispatchRepo(db, OWNER);
    for (const batch of chunks(outcomes, next)) {
      await repo.applyOutcomes(batch);
      const touched = new Set<Msg>();
      for (const o of batch) {
        const m = model.get(o.messageId)!;
        m.segs[o.idx] =
          o.status === 'sent'
            ? { status: 'sent', reason: null, error: null }
            : { status: 'rejected', reason: 'carrier_rejected', error: `0x0000004${o.idx}` };
        touched.add(m);
      }
      for (const m of touched) applyTarget(m);
    }

    const sent = outcomes.filter(
      (o): o is Extract<SegmentOutcome, { status: 'sent' }> => o.status === 'sent',
    );
    const finals = [
      { status: 'delivered', reason: null, errorCode: undefined },
      { status: 'undelivered', reason: 'receipt_undeliverable', errorCode: '001' },
      { status: 'expired', reason: 'receipt_expired', errorCode: '027' },
      { status: 'unknown', reason: 'receipt_unknown', errorCode: undefined },
    ] as const;
    // A receipt for every sent segment, then a second one for some (another state perhaps: a
    // segment moves forward only, and an unknown one may still learn its end). No batch holds two
    // for one segment (a statement updates a row once, by whichever join row comes first).
    const pick = () => finals[next() < 0.7 ? 0 : 1 + Math.floor(next() * 3)]!;
    const rounds = [
      sent.map((o) => ({ o, f: pick() })),
      sent.filter(() => next() < 0.15).map((o) => ({ o, f: pick() })),
    ];
    const receiptsRepo = new ReceiptsRepo(db);
    for (const round of rounds)
      for (const batch of chunks(shuffle(round, next), next)) {
        const updates: ReceiptUpdate[] = batch.map(({ o, f }) => ({
          carrierId: 'sim',
          smscId: o.smscId,
          candidates: [o.idKey],
          status: f.status,
          errorCode: f.errorCode,
          reason: f.reason,
        }));
        const { matched } = await receiptsRepo.applyReceipts(updates, 60_000);
        expect(matched.every(Boolean)).toBe(true);
        const touched = new Set<Msg>();
        for (const { o, f } of batch) {
          const m = model.get(o.messageId)!;
          const s = m.segs[o.idx]!;
          const r = STATUS_RANK[f.status];
          if (STATUS_RANK[s.status] < r || (s.status === 'unknown' && f.status !== 'unknown' && r === 3)) {
            m.segs[o.idx] = { status: f.status, reason: f.reason, error: f.errorCode ?? null };
            touched.add(m);
          }
        }
        for (const m of touched) applyTarget(m);
      }
    expect(rounds[1]!.length).toBeGreaterThan(0);

    const rows = await db.query<{
      id: string;
      status: MessageStatus;
      reason: string | null;
      error_code: string | null;
    }>('SELECT id, status, reason, error_code FROM messages WHERE id = ANY($1::uuid[])', [[...model.keys()]]);
    const got = Object.fromEntries(rows.rows.map((r) => [r.id, [r.status, r.reason, r.error_code]]));
    const want = Object.fromEntries([...model].map(([id, m]) => [id, [m.status, m.reason, m.error]]));
    expect(got, `seed ${seed}`).toEqual(want);
    expect(new Set(partsOf)).toEqual(new Set([1, 2, 3, 4]));
    // The separate roll-up of earlier versions finds nothing left to do.
    const again = emptyRollup();
    await db.tx((q) => rollupMulti(q, [...model.keys()], again));
    expect(again.changes).toEqual([]);
  }, 60_000);

  it('writes in one statement outside a transaction, unless a parked receipt matches a new id', async () => {
    const claimed = await claimMessages([1, 3], 'trips');
    const calls: string[] = [];
    /** A Queryable that notes each statement's name under `via`. */
    const noted = (via: string, q: Queryable): Queryable => ({
      query: (sql, params, name) => {
        calls.push(`${via} ${name ?? ''}`);
        return q.query(sql, params, name);
      },
    });
    const counting: Db = {
      ...db,
      query: (sql, params, name) => {
        calls.push(`query ${name ?? ''}`);
        return db.query(sql, params, name);
      },
      tx: (fn) => {
        calls.push('tx');
        return db.tx((q) => fn(noted('tx', q)));
      },
      session: (fn) => {
        calls.push('session');
        return db.session((q) => fn(noted('session', q)));
      },
    };
    const sent = (s: ClaimedSegment): SegmentOutcome => ({
      messageId: s.messageId,
      idx: s.idx,
      status: 'sent',
      carrierId: 'sim',
      smscId: `t/${s.messageId}/${s.idx}`,
      idKey: `t:${s.messageId}/${s.idx}`,
    });
    const first = claimed.find((s) => s.parts === 1)!;
    const rest = claimed.filter((s) => s.parts === 3).sort((a, b) => a.idx - b.idx);
    expect(rest.length).toBe(3);
    // A receipt that came before its segment's submit_sm_resp was written is parked.
    const receipts = new ReceiptsRepo(counting);
    const early = sent(rest[2]!) as Extract<SegmentOutcome, { status: 'sent' }>;
    const parked = await receipts.applyReceipts(
      [
        {
          carrierId: 'sim',
          smscId: early.smscId,
          candidates: [early.idKey],
          status: 'delivered',
          errorCode: undefined,
          reason: null,
        },
      ],
      60_000,
    );
    expect(parked.matched).toEqual([false]);
    expect(calls.splice(0)).toEqual(['query parley_receipts', 'query parley_park_receipts']);

    const repo = new DispatchRepo(counting, OWNER);
    const one = await repo.applyOutcomes([sent(first), sent(rest[0]!)]);
    expect(calls.splice(0)).toEqual(['session', 'session parley_outcomes']);
    expect(one.changes.map((c) => c.status).sort()).toEqual(['sent']);

    // The statement writes nothing when the parked receipt matches, then the transaction does all.
    const two = await repo.applyOutcomes([sent(rest[1]!), early]);
    expect(calls.splice(0)).toEqual([
      'session',
      'session parley_outcomes',
      'tx',
      'tx parley_outcomes',
      'tx ',
      'tx parley_receipts_by_segment',
      'tx parley_rollup_multi',
    ]);
    expect(two.changes.map((c) => c.status)).toEqual(['sent']);
    const segs = await db.query<{ idx: number; status: string }>(
      'SELECT idx, status FROM segments WHERE message_id = $1 ORDER BY idx',
      [rest[0]!.messageId],
    );
    expect(segs.rows.map((s) => s.status)).toEqual(['sent', 'sent', 'delivered']);
    const left = await db.query('SELECT 1 FROM parked_receipts WHERE id_key = $1', [early.idKey]);
    expect(left.rowCount).toBe(0);
  }, 30_000);
});
