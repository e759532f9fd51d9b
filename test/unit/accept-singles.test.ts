/**
 * Single requests (POST /v1/messages) of one account that arrive in the same turn of the event
 * loop are prepared together: one pipeline run and one recipients' look-up for all of them, each
 * still answered on its own. An unexpected error (a bug, not an AppError) in one of them must not
 * fail its neighbours: they are prepared again, each alone.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors/app-error.ts';
import { AcceptService } from '../../src/messaging/accept.ts';
import type { AcceptCandidate } from '../../src/messaging/compose.ts';
import { LocalBus } from '../../src/messaging/events.ts';
import type { MessageDraft, SendRequest } from '../../src/messaging/model.ts';
import { ALLOW, Pipeline } from '../../src/messaging/pipeline.ts';
import type { MessageStore, SendingNumber } from '../../src/messaging/ports.ts';
import { Router } from '../../src/messaging/router.ts';
import type { SenderAnswer, SenderQuery } from '../../src/messaging/sender.ts';

const ACCOUNT_A = '11111111-1111-4111-8111-111111111111';
const ACCOUNT_B = '22222222-2222-4222-8222-222222222222';
const number = (accountId: string, e164: string): SendingNumber => ({
  id: `${accountId}-${e164}`,
  accountId,
  e164,
  type: 'local',
  registered: true,
});

function service(opts: { decide?: (c: AcceptCandidate) => void } = {}) {
  const runs: number[] = [];
  const inserted: MessageDraft[] = [];
  const store: MessageStore = {
    insertDrafts: async (drafts) => {
      inserted.push(...drafts);
      return new Set(drafts.map((d) => d.id));
    },
    storedIds: async () => new Set(),
    byIdempotencyKeys: async () => new Map(),
  };
  const pipeline = new Pipeline<AcceptCandidate>([
    {
      name: 'probe',
      load: async (cs) => {
        runs.push(cs.length);
      },
      decide: (c: AcceptCandidate) => {
        opts.decide?.(c);
        return ALLOW;
      },
    },
  ]);
  const accept = new AcceptService(
    store,
    {
      listNumbers: async (id) => [number(id, id === ACCOUNT_A ? '+14155550100' : '+14155550200')],
    },
    {
      senderHints: async (qs: readonly SenderQuery[]) => {
        return qs.map(
          (q): SenderAnswer => ({
            assigned: null,
            sticky: null,
            userDefault: undefined,
            accountDefault: q.accountId === ACCOUNT_A ? '+14155550100' : '+14155550200',
            contact: null,
          }),
        );
      },
      accountDefaults: async (ids: readonly string[]) =>
        new Map(ids.map((id) => [id, id === ACCOUNT_A ? '+14155550100' : '+14155550200'] as const)),
    },
    new Router([], []),
    pipeline,
    new LocalBus(),
    {
      defaultRegion: 'US',
      maxSegments: 10,
      validityMs: 3_600_000,
      maxPending: 1_000,
      checkCallbackUrl: () => undefined,
    },
  );
  return { accept, runs, inserted };
}

/**
 * Three singles of account A in one turn, `middle` between two valid ones: the neighbours are
 * accepted, the middle one refused. Returns why it was refused.
 */
async function middleRefusedAlone(accept: AcceptService, middle: SendRequest): Promise<unknown> {
  const [ok, mid, ok2] = await Promise.allSettled([
    accept.acceptOne(ACCOUNT_A, { to: '+14155551001', body: 'one' }),
    accept.acceptOne(ACCOUNT_A, middle),
    accept.acceptOne(ACCOUNT_A, { to: '+14155551003', body: 'three' }),
  ]);
  expect(ok.status).toBe('fulfilled');
  expect(ok2.status).toBe('fulfilled');
  expect(mid.status).toBe('rejected');
  return (mid as PromiseRejectedResult).reason;
}

describe('single requests of one turn', () => {
  it('share one pipeline run and one recipients look-up, per account, each answered on its own', async () => {
    const { accept, runs, inserted } = service();
    const results = await Promise.all([
      accept.acceptOne(ACCOUNT_A, { to: '+14155551001', body: 'one' }),
      accept.acceptOne(ACCOUNT_A, { to: '+14155551002', body: 'two' }),
      accept.acceptOne(ACCOUNT_B, { to: '+14155551003', body: 'three' }),
      accept.acceptOne(ACCOUNT_A, { to: '+14155551004', body: 'four' }),
    ]);
    // Account A's three singles in one run, account B's alone: never another tenant's batch.
    expect(runs.sort()).toEqual([1, 3]);
    expect(results.map((r) => r.accepted.from)).toEqual([
      '+14155550100',
      '+14155550100',
      '+14155550200',
      '+14155550100',
    ]);
    expect(new Set(results.map((r) => r.accepted.id)).size).toBe(4);
    expect(inserted.map((d) => [d.accountId, d.to, d.body])).toEqual(
      expect.arrayContaining([
        [ACCOUNT_A, '+14155551001', 'one'],
        [ACCOUNT_A, '+14155551002', 'two'],
        [ACCOUNT_B, '+14155551003', 'three'],
        [ACCOUNT_A, '+14155551004', 'four'],
      ]),
    );
  });

  it('answers an invalid single with its own error while its neighbours are accepted', async () => {
    const { accept } = service();
    const reason = await middleRefusedAlone(accept, { to: 'not a number', body: 'two' });
    expect(reason).toBeInstanceOf(AppError);
    expect((reason as AppError).code).toBe('INVALID_TO_NUMBER');
  });

  it('fails only the request whose preparation threw unexpectedly (each is prepared alone again)', async () => {
    const { accept, runs } = service({
      decide: (c) => {
        if (c.body === 'boom') throw new TypeError('a bug');
      },
    });
    const reason = await middleRefusedAlone(accept, { to: '+14155551002', body: 'boom' });
    expect(reason).toBeInstanceOf(TypeError);
    // The shared run, then one run per request.
    expect(runs).toEqual([3, 1, 1, 1]);
  });

  it('prepares a single with an Idempotency-Key on its own', async () => {
    const { accept, runs } = service();
    await Promise.all([
      accept.acceptOne(ACCOUNT_A, { to: '+14155551001', body: 'one' }, 'key-1'),
      accept.acceptOne(ACCOUNT_A, { to: '+14155551002', body: 'two' }),
      accept.acceptOne(ACCOUNT_A, { to: '+14155551003', body: 'three' }),
    ]);
    expect(runs.sort()).toEqual([1, 2]);
  });
});
