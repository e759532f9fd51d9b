/**
 * Opt-out as pipeline policies: at accept a message to a contact who opted out is refused
 * (CONTACT_OPTED_OUT, 422); at dispatch one queued before the opt-out ends `failed` with reason
 * `contact_opted_out` and never reaches the SMSC. Both read the committed state, once per batch.
 */
import type { AcceptCandidate } from '../messaging/compose.ts';
import type { ClaimedSegment } from '../messaging/model.ts';
import { ALLOW, type Decision, type Policy } from '../messaging/pipeline.ts';
import type { ComplianceStore } from './ports.ts';

const REFUSED: Decision = Object.freeze({
  kind: 'reject',
  code: 'CONTACT_OPTED_OUT',
  message: 'the contact opted out; nothing may be sent to them until they opt in again (START)',
  status: 'rejected',
  reason: 'contact_opted_out',
});

const ENDED: Decision = Object.freeze({
  kind: 'reject',
  code: 'CONTACT_OPTED_OUT',
  message: 'the contact opted out after the message was accepted',
  status: 'failed',
  reason: 'contact_opted_out',
});

/**
 * Accept: refuses messages to contacts who opted out. `lookup` answers for a batch of
 * (account, number) pairs with the keys `${accountId} ${to}` that opted out (a coalescing loader
 * in the gateway, so concurrent single requests share a query).
 */
export function optOutAcceptPolicy(
  lookup: (pairs: ReadonlyArray<{ accountId: string; to: string }>) => Promise<Set<string>>,
): Policy<AcceptCandidate, Set<string>> {
  return {
    name: 'opt-out',
    load: (cs) => lookup(cs.map((c) => ({ accountId: c.accountId, to: c.to }))),
    decide: (c, out) => (out.size > 0 && out.has(`${c.accountId} ${c.to}`) ? REFUSED : ALLOW),
  };
}

/** Dispatch: a claimed segment whose contact opted out (compliance replies excepted) ends failed. */
export function optOutDispatchPolicy(store: ComplianceStore): Policy<ClaimedSegment, Set<string>> {
  return {
    name: 'opt-out',
    load: (segs) =>
      store.optedOutSegments(segs.map((s) => ({ messageId: s.messageId, from: s.from, to: s.to }))),
    decide: (seg, out) => (out.size > 0 && out.has(seg.messageId) ? ENDED : ALLOW),
  };
}
