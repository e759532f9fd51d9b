/**
 * The statements the plan tests run: each captured from the real repositories with a batch of
 * BATCH drawn from rows the loader made (test/helpers/plan-fixtures.ts).
 */
import { emptyRollup } from '../../src/messaging/model.ts';
import { AccountsRepo } from '../../src/store/accounts-repo.ts';
import { BacklogRepo } from '../../src/store/backlog-repo.ts';
import { ComplianceRepo } from '../../src/store/compliance-repo.ts';
import { DispatchRepo } from '../../src/store/dispatch-repo.ts';
import { appendLiveEvents, EventsRepo } from '../../src/store/events-repo.ts';
import { InboundRepo } from '../../src/store/inbound-repo.ts';
import { LimitsRepo } from '../../src/store/limits-repo.ts';
import { LinksRepo } from '../../src/store/links-repo.ts';
import { MessagesRepo } from '../../src/store/messages-repo.ts';
import { addStatDeltas, NumberStatsRepo } from '../../src/store/number-stats-repo.ts';
import { ReceiptsRepo } from '../../src/store/receipts-repo.ts';
import { finishWrite, rollupMulti } from '../../src/store/rollup.ts';
import { SendersRepo } from '../../src/store/senders-repo.ts';
import { WebhooksRepo } from '../../src/store/webhooks-repo.ts';
import { testDraft } from './drafts.ts';
import { ACCOUNT, BATCH, type Captured, capturing, idOf, OWNER } from './plan-fixtures.ts';

/** The hot statements with a batch of BATCH drawn from rows the loader made (ids in [lo, hi]). */
export async function hotStatements(hi: number): Promise<Captured[]> {
  const out: Captured[] = [];
  const sending = Array.from({ length: BATCH }, (_, k) => hi - 11_000 - k); // leased by OWNER
  const sent = Array.from({ length: BATCH }, (_, k) => hi - 3_000 - k);
  const drafts = Array.from({ length: BATCH }, (_, k) =>
    testDraft(ACCOUNT, {
      to: `+1415666${String(1000 + k)}`,
      body: `new ${k}`,
      statusCallback: 'https://example.com/cb',
    }),
  );
  // One in five with a tracked link, stored in the same statement; half of them on the guess that
  // the recipient is no contact (the insert probes contacts and, for some, the account's default).
  drafts.forEach((d, k) => {
    if (k % 5 === 0) d.links = [{ code: `N${String(k).padStart(9, '0')}`, url: `https://example.com/n${k}` }];
    if (k % 2 === 0) d.guess = { accountDefault: k % 4 === 0 ? '+15550100001' : undefined };
  });
  await new MessagesRepo(capturing(out, 'accept-insert')).insertDrafts(drafts, new Date());
  // The redirector's look-up and a batch of clicks on the links the loader made.
  const codes = sent.map((i) => `L${String(i - (i % 10) + 1).padStart(9, '0')}`);
  await new LinksRepo(capturing(out, 'links-resolve')).resolve(codes);
  await new LinksRepo(capturing(out, 'links-click')).recordClicks(
    codes.map((code) => ({ code, at: new Date(), agent: 'mobile' as const })),
  );
  // A number's figures for a day of hours (GET /v1/numbers/:id/metrics).
  await new NumberStatsRepo(capturing(out, 'number-stats')).rows({
    accountId: ACCOUNT,
    numbers: ['+15550000007'],
    from: new Date(Date.now() - 86_400_000),
    to: new Date(),
  });
  await new DispatchRepo(capturing(out, 'claim'), OWNER).claim(BATCH, 60_000);
  await new DispatchRepo(capturing(out, 'outcomes'), OWNER).applyOutcomes(
    sending.map((i, k) =>
      k % 4 === 3
        ? {
            messageId: idOf(i),
            idx: 0,
            status: 'queued' as const,
            delayMs: 100,
            reason: 'throttled' as const,
            possibleDuplicate: false,
            deferred: false,
          }
        : {
            messageId: idOf(i),
            idx: 0,
            status: 'sent' as const,
            carrierId: 'sim',
            smscId: i.toString(16),
            idKey: `n:x${i}`,
          },
    ),
  );
  await new ReceiptsRepo(capturing(out, 'receipts')).applyReceipts(
    sent.map((i) => ({
      carrierId: 'sim',
      smscId: String(i),
      candidates: [`n:${i}`, `n:z${i}`],
      status: 'delivered' as const,
      errorCode: undefined,
      reason: null,
    })),
    60_000,
  );
  await rollupMulti(capturing(out, 'rollup-multi'), sent.map(idOf), emptyRollup());
  await new ReceiptsRepo(capturing(out, 'rematch-parked')).rematchParked(30_000, 1_000);
  await new ReceiptsRepo(capturing(out, 'expire-parked')).expireParked(1_000);
  await new WebhooksRepo(capturing(out, 'webhooks-claim')).claimDue(100, 20_000);
  await new DispatchRepo(capturing(out, 'reclaim-leases'), OWNER).reclaimExpiredLeases(1_000);
  await new DispatchRepo(capturing(out, 'expire-overdue'), OWNER).expireOverdue(1_000, 3_600_000);
  await new DispatchRepo(capturing(out, 'receipt-timeout'), OWNER).timeoutSent(3_600_000, 1_000);
  await new InboundRepo(capturing(out, 'inbound-insert')).storeMessages(
    Array.from({ length: BATCH }, (_, k) => ({
      id: idOf(9_000_000_000 + k),
      carrierId: 'sim',
      from: '+14155550123',
      to: '+15550100001',
      body: 'hi',
      raw: Buffer.from('hi'),
      dataCoding: 0,
      segments: 1,
      complete: true,
    })),
  );
  const compliance = (name: string) => new ComplianceRepo(capturing(out, name));
  await compliance('contact-info').contactInfo(
    sent.map((i) => ({ accountId: ACCOUNT, to: `+1415${String(i % 10_000_000).padStart(7, '0')}` })),
  );
  await compliance('segment-info').segmentInfo(
    sent.map((i) => ({
      messageId: idOf(i),
      from: '+15550100001',
      to: `+1415${String(i % 10_000_000).padStart(7, '0')}`,
    })),
  );
  await compliance('claim-first').claimFirstMessages(
    sent.map((i) => ({
      accountId: ACCOUNT,
      to: `+1415${String(i % 10_000_000).padStart(7, '0')}`,
      messageId: idOf(i),
    })),
  );
  await compliance('recent-counts').recentCounts(
    sent.map((i) => ({
      accountId: ACCOUNT,
      to: `+1415${String(i % 10_000_000).padStart(7, '0')}`,
      sinceMs: 86_400_000,
    })),
  );
  await compliance('consent-inbound').inbound(sent.map((i) => idOf(i - (i % 10))));
  await compliance('consent-mark-handled').markHandled(
    sent.map((i) => idOf(i - (i % 10))),
    [],
  );
  await compliance('consent-sweep').unhandled(200, 5_000);
  const live = (name: string) => new EventsRepo(capturing(out, name));
  await live('live-status').appendStatusEvents(
    sent.map((i) => ({
      messageId: idOf(i),
      accountId: ACCOUNT,
      status: 'delivered' as const,
      reason: null,
      errorCode: null,
      callback: false,
    })),
  );
  await live('live-read').read(ACCOUNT, 0, 500);
  // The registration gate at dispatch: the sending numbers of a claimed batch.
  await new AccountsRepo(capturing(out, 'number-registration')).registrationOf(
    sent.map((i) => `+1555${String(1_000_000 + (i % 9_000_000)).padStart(7, '0')}`),
  );
  // Rate limits at dispatch: the senders' limits, their backlog, the senders of over-limit receipts.
  const senders = sent.map((i) => `+1555${String(1_000_000 + (i % 9_000_000)).padStart(7, '0')}`);
  await new LimitsRepo(capturing(out, 'sender-limits')).senderProfiles(senders);
  await new LimitsRepo(capturing(out, 'sender-backlog')).setBacklog(
    senders.map((e164) => ({ e164, until: new Date(Date.now() + 60_000) })),
  );
  await new LimitsRepo(capturing(out, 'over-limit-senders')).sendersOf(sent.map((i) => idOf(i)));
  // The brands' daily caps of a batch, one statement.
  await new LimitsRepo(capturing(out, 'brand-daily-take')).takeDaily(
    '2026-12-04',
    Array.from({ length: 50 }, (_, i) => ({ brandId: idOf(i + 1), want: 10, cap: 1_000 })),
  );
  // The daily cap of unused slots given back, one statement.
  await new LimitsRepo(capturing(out, 'brand-daily-return')).returnDaily(
    '2026-12-04',
    Array.from({ length: 50 }, (_, i) => ({ brandId: idOf(i + 1), want: 3 })),
  );
  // The campaign replies of the numbers a batch of MO came to.
  await compliance('campaign-replies').campaignReplies(senders);
  await new SendersRepo(capturing(out, 'sender-hints')).senderHints(
    sent.map((i) => ({
      accountId: ACCOUNT,
      to: `+1415${String(i % 10_000_000).padStart(7, '0')}`,
      userId: i % 2 ? '22222222-2222-4222-8222-222222222222' : undefined,
    })),
  );
  await rarerStatements(out, sent, senders);
  // Transaction control and settings are no plans.
  return out.filter((s) => !/^\s*(BEGIN|COMMIT|ROLLBACK|SET )/i.test(s.sql));
}

/**
 * The named statements off the per-batch path (or behind rows the capture does not return): each
 * keeps the generic plan of its first execution, so each is checked like the others.
 */
async function rarerStatements(out: Captured[], sent: number[], senders: string[]): Promise<void> {
  await new AccountsRepo(capturing(out, 'auth-key')).accountIdForKeyHash('0'.repeat(64));
  // The snapshot reads a row the capture does not give: its statements are captured by then.
  await new BacklogRepo(capturing(out, 'backlog')).snapshot().catch(() => undefined);
  await appendLiveEvents(
    capturing(out, 'live-append'),
    sent.map((i) => ({ accountId: ACCOUNT, type: 'message.status' as const, data: { id: idOf(i) } })),
  );
  await addStatDeltas(
    capturing(out, 'stat-deltas'),
    senders.map((from) => ({ accountId: ACCOUNT, from, at: new Date(), metric: 'sent' as const, n: 1 })),
  );
  await new NumberStatsRepo(
    capturing(out, 'stats-fold', (sql) => (sql.includes('pg_try_advisory') ? [{ ok: true }] : [])),
  ).fold(50_000);
  // Parts of 100 two-part MOs: the first of each; the capture answers the insert's counts.
  const parts = Array.from({ length: 100 }, (_, k) => ({
    carrierId: 'sim',
    from: `+1415555${String(1000 + k)}`,
    to: '+15550100001',
    ref: k,
    total: 2,
    seq: 1,
    dataCoding: 0,
    body: 'part',
    raw: Buffer.from('part'),
    timeoutMs: 60_000,
  }));
  await new InboundRepo(
    capturing(out, 'mo-groups', (sql) =>
      sql.includes('INSERT INTO mo_parts')
        ? parts.map((p) => ({ from_e164: p.from, to_e164: p.to, ref: p.ref, total: p.total, n: 1 }))
        : [],
    ),
  ).storeParts(parts);
  // Clicks on links the loader made, the links' rows answered: callbacks and live events follow.
  const codes = sent.map((i) => `L${String(i - (i % 10) + 1).padStart(9, '0')}`);
  await new LinksRepo(
    capturing(out, 'links-callbacks', (sql) =>
      sql.includes('UPDATE links')
        ? codes.map((code, k) => ({
            code,
            message_id: idOf(sent[k]! - (sent[k]! % 10) + 1),
            account_id: ACCOUNT,
            from_e164: '+15550100001',
            number_type: 'local',
            url: 'https://example.com/x',
            clicks: 1,
            added: 1,
          }))
        : [],
    ),
  ).recordClicks(codes.map((code) => ({ code, at: new Date(), agent: 'mobile' as const })));
  // Receipts parked before their submit's answer, matched once it came.
  await finishWrite(
    capturing(out, 'receipts-by-segment'),
    sent.map((i) => ({
      k: 3,
      message_id: idOf(i),
      account_id: null,
      status: 'delivered',
      reason: null,
      error_code: null,
      cb: null,
      idx: 0,
      receipt_id: idOf(i),
      lat: null,
      nt: null,
    })),
    emptyRollup(),
  );
  const webhooks = new WebhooksRepo(capturing(out, 'webhooks-done'));
  await webhooks.delivered(String(Math.floor(sent[0]! / 10)));
  await webhooks.retryLater(String(Math.floor(sent[1]! / 10)), 1_000, 'timeout');
}
