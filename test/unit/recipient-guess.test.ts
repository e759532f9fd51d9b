/**
 * Singles to recipients not known as contacts are prepared on the guess "no contact" and the
 * insert verifies it (src/messaging/recipients.ts). Here: when a guess is made at all, and that
 * a guess the store refuses — or one whose outcome could depend on the contact — ends exactly as
 * if the recipient had been read, counted once.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors/app-error.ts';
import { AcceptService } from '../../src/messaging/accept.ts';
import type { AcceptCandidate } from '../../src/messaging/compose.ts';
import { type GatewayEvents, LocalBus } from '../../src/messaging/events.ts';
import type { MessageDraft } from '../../src/messaging/model.ts';
import { ALLOW, type Decision, Pipeline } from '../../src/messaging/pipeline.ts';
import type { MessageStore, SendingNumber } from '../../src/messaging/ports.ts';
import { Recipients } from '../../src/messaging/recipients.ts';
import { Router } from '../../src/messaging/router.ts';
import type { SenderAnswer, SenderDirectory, SenderQuery } from '../../src/messaging/sender.ts';

const ACCOUNT = '11111111-1111-4111-8111-111111111111';
const DEFAULT = '+14155550100';
const ASSIGNED = '+14155550101';
const num = (e164: string): SendingNumber => ({
  id: e164,
  accountId: ACCOUNT,
  e164,
  type: 'local',
  registered: true,
});

/** A directory where `contacts` are the recipients stored as contacts (with an assigned number or DND). */
function directory(contacts: Map<string, { assigned?: string; dnd?: boolean }>) {
  const asked: SenderQuery[][] = [];
  let defaultsRead = 0;
  const d: SenderDirectory = {
    senderHints: async (qs) => {
      asked.push([...qs]);
      return qs.map((q): SenderAnswer => {
        const c = q.to === undefined ? undefined : contacts.get(q.to);
        return {
          assigned: c?.assigned ?? null,
          sticky: null,
          userDefault: q.userId === undefined ? null : undefined,
          accountDefault: DEFAULT,
          contact:
            q.to === undefined
              ? undefined
              : c
                ? { dnd: c.dnd ?? false, timeZone: null, firstSent: true }
                : null,
        };
      });
    },
    accountDefaults: async (ids) => {
      defaultsRead++;
      return new Map(ids.map((id) => [id, DEFAULT] as const));
    },
  };
  return { d, asked, defaultsRead: () => defaultsRead };
}

function service(
  contacts: Map<string, { assigned?: string; dnd?: boolean }>,
  decide?: (c: AcceptCandidate) => Decision,
) {
  const dir = directory(contacts);
  const written: MessageDraft[][] = [];
  // Verifies guesses as the SQL does: a guessed draft to a stored contact is skipped.
  const store: MessageStore = {
    insertDrafts: async (drafts) => {
      written.push(drafts);
      return new Set(drafts.filter((x) => x.guess === undefined || !contacts.has(x.to)).map((x) => x.id));
    },
    storedIds: async () => new Set(),
    byIdempotencyKeys: async () => new Map(),
  };
  const bus = new LocalBus();
  const decided: Array<GatewayEvents['message.decided']> = [];
  bus.subscribe('message.decided', (es) => decided.push(...es));
  const pipeline = new Pipeline<AcceptCandidate>([
    {
      name: 'probe',
      decide: (c: AcceptCandidate): Decision => {
        if (c.contact?.dnd)
          return {
            kind: 'reject',
            code: 'CONTACT_OPTED_OUT',
            message: 'x',
            status: 'rejected',
            reason: 'contact_opted_out',
          };
        return decide?.(c) ?? ALLOW;
      },
    },
  ]);
  const accept = new AcceptService(
    store,
    { listNumbers: async () => [num(DEFAULT), num(ASSIGNED)] },
    dir.d,
    new Router([], []),
    pipeline,
    bus,
    {
      defaultRegion: 'US',
      maxSegments: 10,
      validityMs: 3_600_000,
      maxPending: 1_000,
      checkCallbackUrl: () => undefined,
    },
  );
  return { accept, written, decided, bus, ...dir };
}

describe('the accept path guesses a new recipient', () => {
  it('a new recipient: no read, one insert verifying the guess (with the default it assumed)', async () => {
    const s = service(new Map());
    const r = await s.accept.acceptOne(ACCOUNT, { to: '+14155552001', body: 'hi' });
    expect(r.accepted.from).toBe(DEFAULT);
    expect(s.asked).toEqual([]);
    expect(s.written.flat().map((d) => d.guess)).toEqual([{ accountDefault: DEFAULT }]);
    // Naming the sender: the default is not part of the guess.
    await s.accept.acceptOne(ACCOUNT, { to: '+14155552002', body: 'hi', from: ASSIGNED });
    expect(s.written.flat()[1]!.guess).toEqual({ accountDefault: undefined });
    expect(s.defaultsRead()).toBe(1);
  });

  it('a wrong guess is prepared again from what is read: the assigned number sends, stored once', async () => {
    const s = service(new Map([['+14155552003', { assigned: ASSIGNED }]]));
    const r = await s.accept.acceptOne(ACCOUNT, { to: '+14155552003', body: 'hi' });
    expect(r.accepted.from).toBe(ASSIGNED);
    expect(s.written.map((w) => w.map((d) => [d.from, d.guess !== undefined]))).toEqual([
      [[DEFAULT, true]],
      [[ASSIGNED, false]],
    ]);
    // Known now: the next send reads at once, no guess.
    await s.accept.acceptOne(ACCOUNT, { to: '+14155552003', body: 'again' });
    expect(
      s.written
        .slice(2)
        .flat()
        .map((d) => d.guess),
    ).toEqual([undefined]);
  });

  it('an opted-out contact made elsewhere is refused once the guess fails, and counted once', async () => {
    const s = service(new Map([['+14155552004', { dnd: true }]]));
    await expect(s.accept.acceptOne(ACCOUNT, { to: '+14155552004', body: 'hi' })).rejects.toMatchObject({
      code: 'CONTACT_OPTED_OUT',
    });
    expect(s.decided.map((e) => [e.decision, e.reason, e.count])).toEqual([
      ['refused', 'contact_opted_out', 1],
    ]);
  });

  it("a guess's refusal is not final: the read may change it (no sender without the contact's)", async () => {
    const s = service(new Map([['+14155552005', { assigned: ASSIGNED }]]));
    // The policy refuses a message without a contact; under the guess every message has none.
    const picky = service(
      new Map([['+14155552005', { assigned: ASSIGNED }]]),
      (c): Decision =>
        c.contact === null
          ? { kind: 'reject', code: 'X', message: 'x', status: 'rejected', reason: 'contact_opted_out' }
          : ALLOW,
    );
    const r = await picky.accept.acceptOne(ACCOUNT, { to: '+14155552005', body: 'hi' });
    expect(r.accepted.from).toBe(ASSIGNED);
    expect(picky.decided).toEqual([]);
    expect(s.asked).toEqual([]);
  });

  it('a deferral is counted once, whether the guess holds or is prepared again', async () => {
    const until = new Date(Date.now() + 3_600_000);
    const defer = (): Decision => ({ kind: 'defer', until, reason: 'quiet_hours' });
    const s = service(new Map([['+14155552007', {}]]), defer);
    await s.accept.acceptOne(ACCOUNT, { to: '+14155552006', body: 'new' });
    await s.accept.acceptOne(ACCOUNT, { to: '+14155552007', body: 'known elsewhere' });
    expect(s.decided.map((e) => [e.decision, e.reason, e.count])).toEqual([
      ['deferred', 'quiet_hours', 1],
      ['deferred', 'quiet_hours', 1],
    ]);
  });

  it('no guess with an Idempotency-Key or a user; an invalid `to` is answered by the read path', async () => {
    const s = service(new Map());
    await s.accept.acceptOne(ACCOUNT, { to: '+14155552008', body: 'k' }, 'key-1');
    await expect(
      s.accept.acceptOne(ACCOUNT, {
        to: '+14155552009',
        body: 'u',
        userId: '33333333-3333-4333-8333-333333333333',
      }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_USER' });
    await expect(s.accept.acceptOne(ACCOUNT, { to: 'nope', body: 'x' })).rejects.toBeInstanceOf(AppError);
    expect(s.written.flat().every((d) => d.guess === undefined)).toBe(true);
    expect(s.asked).toHaveLength(3);
  });
});

describe('Recipients', () => {
  const dir = directory(new Map([['+14155552010', {}]]));
  const make = (o: { maxKnown?: number; refuseMs?: number } = {}) => {
    const bus = new LocalBus();
    return { bus, r: new Recipients(dir.d, bus, { defaultRegion: 'US', maxPending: 100, ...o }) };
  };

  it('remembers at most maxKnown contacts, the oldest forgotten first', async () => {
    const { r } = make({ maxKnown: 2 });
    const [one, two, three] = ['+14155552021', '+14155552022', '+14155552023'];
    r.know(ACCOUNT, one!);
    r.know(ACCOUNT, two!);
    r.know(ACCOUNT, one!); // known again: now the newest
    r.know(ACCOUNT, three!);
    expect(r.knownCount).toBe(2);
    const reqs = [one, two, three].map((to) => ({ to: to!, body: '' }));
    const g = await r.guess(ACCOUNT, reqs);
    expect(reqs.map((q) => g(q)?.guessed)).toEqual([undefined, true, undefined]);
  });

  it('makes no guess for a known recipient, one read as a contact, or one who texted in', async () => {
    const { r, bus } = make();
    const reqs = [
      { to: '+14155552010', body: '' },
      { to: '+14155552012', body: '' },
      { to: '+14155552013', body: '' },
    ];
    await r.read(ACCOUNT, reqs); // +…2010 is a contact
    bus.publish('message.inbound', [
      {
        id: 'x',
        accountId: ACCOUNT,
        from: '+14155552012',
        to: DEFAULT,
        segments: 1,
        complete: true,
        carrierId: 'c',
        receivedAt: '',
      },
      {
        id: 'y',
        accountId: null,
        from: '+14155552013',
        to: DEFAULT,
        segments: 1,
        complete: true,
        carrierId: 'c',
        receivedAt: '',
      },
    ]);
    const g = await r.guess(ACCOUNT, reqs);
    expect(reqs.map((q) => g(q)?.guessed)).toEqual([undefined, undefined, true]);
    // Another account's recipient with the same number is not known.
    const other = await r.guess('22222222-2222-4222-8222-222222222222', reqs);
    expect(other(reqs[0]!)?.guessed).toBe(true);
  });

  it('an account whose policies refused a guess is not guessed for refuseMs', () => {
    const { r } = make({ refuseMs: 1_000 });
    const req = { to: '+14155552014', body: '' };
    expect(r.mayGuess(ACCOUNT, req, undefined, 0)).toBe(true);
    r.refuse(ACCOUNT, 0);
    expect(r.mayGuess(ACCOUNT, req, undefined, 999)).toBe(false);
    expect(r.mayGuess(ACCOUNT, req, undefined, 1_000)).toBe(true);
    expect(r.mayGuess(ACCOUNT, req, 'key', 2_000)).toBe(false);
    expect(r.mayGuess(ACCOUNT, { ...req, userId: 'u' }, undefined, 2_000)).toBe(false);
  });
});
