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

/** The accept insert's parameters: the last five are the contacts to create (id, account, e164, message, idempotent). */
async function contactsOf(drafts: MessageDraft[]): Promise<string[]> {
  let params: unknown[] = [];
  const q: Queryable = {
    query: async <T>(_sql: string, p: unknown[] = []) => {
      params = p;
      return { rows: [] as T[], rowCount: 0 };
    },
  };
  await MessagesRepo.insertDraftsWith(q, drafts, new Date(0));
  return params.at(-3) as string[];
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
});
