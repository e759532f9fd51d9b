import { describe, expect, it } from 'vitest';
import type { MessageDraft } from '../../src/messaging/model.ts';
import type { Queryable } from '../../src/store/db.ts';
import { MessagesRepo } from '../../src/store/messages-repo.ts';

const draft = (id: string, to: string, extra: Partial<MessageDraft> = {}): MessageDraft => ({
  id,
  accountId: '00000000-0000-7000-8000-00000000000a',
  from: '+14155550100',
  to,
  numberType: 'local',
  body: 'hi',
  encoding: 'GSM-7',
  segmentCount: 1,
  segments: [],
  profile: '',
  statusCallback: undefined,
  metadata: undefined,
  sendAt: undefined,
  expiresAt: new Date(60_000),
  idempotencyKey: undefined,
  requestHash: undefined,
  ...extra,
});

/** The accept insert's parameters $37–$41 are the contacts to create (id, account, e164, message, skippable). */
async function contactsOf(drafts: MessageDraft[], column = 38): Promise<string[]> {
  let params: unknown[] = [];
  const q: Queryable = {
    query: async <T>(_sql: string, p: unknown[] = []) => {
      params = p;
      return { rows: [] as T[], rowCount: 0 };
    },
  };
  await MessagesRepo.insertDraftsWith(q, drafts, new Date(0));
  return params[column] as string[];
}

describe('accept insert: contacts', () => {
  it('creates a contact per new recipient, once, in key order', async () => {
    expect(await contactsOf([draft('1', '+2'), draft('2', '+1'), draft('3', '+2')])).toEqual(['+1', '+2']);
  });

  it('skips recipients whose contact is known to be stored (read at accept, or upserted by the footer claim)', async () => {
    const got = await contactsOf([
      draft('1', '+1', { contactStored: true }),
      draft('2', '+2'),
      // Another draft to the same recipient in the batch, from a request that did not know it:
      // the contact exists all the same.
      draft('3', '+1'),
      draft('4', '+3', { contactStored: false }),
    ]);
    expect(got).toEqual(['+2', '+3']);
  });

  it('ties a contact to a draft surely stored, else to each draft that may be skipped (a guess, an idempotent one)', async () => {
    const guess = { guess: { accountDefault: undefined } };
    const drafts = [
      draft('1', '+1', guess),
      draft('2', '+1'),
      draft('3', '+2', guess),
      draft('4', '+2', { idempotencyKey: 'k' }),
      draft('5', '+3', guess),
    ];
    // +1: the plain draft; +2 and +3: each draft that may be skipped, created with whichever is stored.
    expect(await contactsOf(drafts, 39)).toEqual(['2', '3', '4', '5']);
    expect(await contactsOf(drafts, 40)).toEqual([false, true, true, true]);
  });
});
