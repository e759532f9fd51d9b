import { describe, expect, it } from 'vitest';
import { OptOutGate } from '../../src/compliance/gate.ts';
import type { ComplianceStore, ConsentChange, InboundForConsent } from '../../src/compliance/ports.ts';
import { ComplianceService } from '../../src/compliance/service.ts';
import { DEFAULT_COMPLIANCE } from '../../src/compliance/settings.ts';
import { AppError } from '../../src/errors/app-error.ts';
import { LocalBus } from '../../src/messaging/events.ts';
import type { MessageDraft } from '../../src/messaging/model.ts';
import { silent } from '../helpers/smpp.ts';

function fakeStore(msgs: InboundForConsent[]) {
  const changes: Array<{ change: ConsentChange; reply: MessageDraft | undefined }> = [];
  const marked: { done: string[]; review: string[] } = { done: [], review: [] };
  const store = {
    settings: async (ids: readonly string[]) => new Map(ids.map((id) => [id, DEFAULT_COMPLIANCE])),
    unhandled: async () => msgs,
    inbound: async () => msgs,
    markHandled: async (done: readonly string[], review: readonly string[]) => {
      marked.done.push(...done);
      marked.review.push(...review);
    },
    applyConsent: async (change: ConsentChange, reply: MessageDraft | undefined) => {
      changes.push({ change, reply });
      return { changed: true, contactId: 'c' };
    },
    storeHelpReply: async () => true,
    accountNumbers: async () => ['+15550100001'],
    campaignReplies: async () => new Map(),
  } as unknown as ComplianceStore;
  return { store, changes, marked };
}

const mo = (id: string, from: string, body: string, to = '+15550100001'): InboundForConsent => ({
  id,
  accountId: 'a',
  from,
  to,
  body,
});

describe('compliance service', () => {
  it('one reply that cannot be handled holds back none of the others; a STOP stands without its confirmation', async () => {
    const msgs = [
      mo('1', '+14155550001', 'STOP', '+15550199999'), // its number left the account: no confirmation
      mo('2', '+14155550002', 'HELP', '+15550188888'), // cannot be answered: flagged
      mo('3', '+14155550003', 'STOP'),
      mo('4', '+14155550004', 'who is this?'),
    ];
    const f = fakeStore(msgs);
    const bus = new LocalBus();
    const svc = new ComplianceService(
      f.store,
      new OptOutGate(),
      bus,
      silent,
      async (_a, from, to, body) => {
        if (from !== '+15550100001') throw new AppError('NUMBER_NOT_FOUND');
        return { id: `reply-${to}`, body } as unknown as MessageDraft;
      },
      { sweepMs: 60_000, sweepAfterMs: 0 },
    );
    bus.publish('message.inbound', [
      {
        id: 'x',
        accountId: 'a',
        from: '',
        to: '',
        segments: 1,
        complete: true,
        carrierId: 'sim',
        receivedAt: '',
      },
    ]);
    await svc.idle();
    expect(f.changes.map((c) => [c.change.contact, c.change.action, c.reply?.id])).toEqual([
      ['+14155550001', 'opt_out', undefined],
      ['+14155550003', 'opt_out', 'reply-+14155550003'],
    ]);
    expect(f.marked.done.sort()).toEqual(['1', '2', '3', '4']);
    expect(f.marked.review.sort()).toEqual(['2', '4']);
    await svc.stop();
  });
});

describe('compliance service under a flood of MO', () => {
  it('keeps its queue bounded; what it does not queue is left to the sweep', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const f = fakeStore([]);
    let reads = 0;
    (f.store as { inbound: unknown }).inbound = async () => {
      reads++;
      await gate;
      return [];
    };
    const bus = new LocalBus();
    const svc = new ComplianceService(
      f.store,
      new OptOutGate(),
      bus,
      silent,
      async () => ({}) as MessageDraft,
      { sweepMs: 60_000, sweepAfterMs: 0 },
    );
    const mo = {
      id: 'x',
      accountId: 'a',
      from: '',
      to: '',
      segments: 1,
      complete: true,
      carrierId: 's',
      receivedAt: '',
    };
    for (let i = 0; i < 10_000; i++) bus.publish('message.inbound', [mo]);
    expect(svc.pending).toBeLessThanOrEqual(50);
    release();
    await svc.idle();
    expect(reads).toBeLessThanOrEqual(50);
    expect(svc.pending).toBe(0);
    await svc.stop();
  });
});
