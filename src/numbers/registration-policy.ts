/**
 * The registration gate: a number that carriers would filter (a local number without an approved
 * 10DLC campaign, an unverified toll-free number) never reaches a carrier — refused at accept,
 * and re-checked at dispatch, so a campaign suspended while messages wait stops them.
 */
import type { AcceptCandidate } from '../messaging/compose.ts';
import type { ClaimedSegment } from '../messaging/model.ts';
import { ALLOW, type Decision, type Policy } from '../messaging/pipeline.ts';
import { TtlBatchCache } from '../messaging/ttl-cache.ts';
import type { NumberType } from '../messaging/vocabulary.ts';

const refusal = (type: NumberType, at: 'accept' | 'dispatch'): Decision => ({
  kind: 'reject',
  code: type === 'toll_free' ? 'TOLL_FREE_NOT_VERIFIED' : 'NUMBER_NOT_REGISTERED',
  message:
    type === 'toll_free'
      ? `the toll-free sending number is not verified${at === 'dispatch' ? ' (any more)' : ''}`
      : `the sending number is not assigned to an approved 10DLC campaign${at === 'dispatch' ? ' (any more)' : ''}`,
  status: at === 'accept' ? 'rejected' : 'failed',
  reason: 'number_not_registered',
});

/** Accept: the resolved sender's registration travels on the candidate (read with the account's numbers). */
export function registrationAcceptPolicy(): Policy<AcceptCandidate> {
  return {
    name: 'registration',
    decide: (c) => (c.senderRegistered === false ? refusal(c.numberType, 'accept') : ALLOW),
  };
}

/**
 * A sending number's registration as dispatch sees it. `pending`: the registry is reviewing its
 * assignment to a campaign (a move between campaigns included); what it had queued waits.
 */
export interface NumberRegistration {
  type: NumberType;
  registered: boolean;
  pending: boolean;
}

/** How dispatch learns the sending numbers' registration (one read per claimed batch, cached briefly). */
export type RegistrationSource = (numbers: readonly string[]) => Promise<Map<string, NumberRegistration>>;

/**
 * Dispatch: every claimed segment's sending number is registered now. Answers are kept `ttlMs`
 * (a suspension stops sending within that time); a number no longer known fails too. A number
 * whose assignment the registry is reviewing holds its queue (until its validity runs out):
 * failing messages accepted while it was registered would punish a campaign move.
 */
export function registrationDispatchPolicy(
  source: RegistrationSource,
  opts: {
    /** How long answers are kept. */
    ttlMs?: number;
    /** How long a segment of a number pending assignment waits before it is looked at again. */
    pendingWaitMs: number;
    now?: () => number;
  },
): Policy<ClaimedSegment, Map<string, NumberRegistration>> {
  const { ttlMs = 2_000, pendingWaitMs, now = Date.now } = opts;
  const cache = new TtlBatchCache<NumberRegistration>(source, ttlMs, 100_000, () => ({
    type: 'local',
    registered: false,
    pending: false,
  }));
  return {
    name: 'registration',
    load: (segs) => cache.get(segs.map((s) => s.from)),
    decide: (seg, m) => {
      const r = m.get(seg.from);
      if (!r || r.registered) return ALLOW;
      if (r.pending)
        return { kind: 'defer', until: new Date(now() + pendingWaitMs), reason: 'registration_pending' };
      return refusal(r.type, 'dispatch');
    },
  };
}
