/**
 * Compliance rules as pipeline policies, at accept and again at dispatch, deciding on context
 * loaded once per batch (shared by the policies of one batch):
 * - opt-out: at accept a message to a contact who opted out is refused (422 CONTACT_OPTED_OUT); at
 *   dispatch one queued before the opt-out ends `failed`, reason `contact_opted_out`;
 * - quiet hours: outside the recipient's window a message is scheduled for the window's opening
 *   (or refused, 422 QUIET_HOURS, when the request or account says reject); dispatch re-checks, so
 *   a message delayed by an outage never goes out at 21:05.
 * Compliance replies (confirmations, HELP) pass both.
 */
import type { AcceptCandidate } from '../messaging/compose.ts';
import type { ClaimedSegment } from '../messaging/model.ts';
import { ALLOW, type Decision, type Policy } from '../messaging/pipeline.ts';
import type { ComplianceStore, ContactInfo, SegmentInfo } from './ports.ts';
import { nextAllowed, nextAllowedBy } from './quiet-hours.ts';
import { type ComplianceSettings, withFooter } from './settings.ts';
import { STATE_RULES, weekFor } from './state-rules.ts';
import { regionOfNanp } from './us-states.ts';

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

export interface ComplianceSources {
  /** Known contacts among (account, number) pairs, keyed `${accountId} ${to}`. */
  contacts(pairs: ReadonlyArray<{ accountId: string; to: string }>): Promise<Map<string, ContactInfo>>;
  segments: ComplianceStore['segmentInfo'];
  settings(accountIds: readonly string[]): Promise<Map<string, ComplianceSettings>>;
  zones(numbers: Iterable<string>): Promise<Map<string, readonly string[]>>;
  claimFirst: ComplianceStore['claimFirstMessages'];
  recentCounts: ComplianceStore['recentCounts'];
  now(): Date;
}

interface Loaded {
  contacts: Map<string, ContactInfo>;
  settings: Map<string, ComplianceSettings>;
  zones: Map<string, readonly string[]>;
  now: Date;
  /**
   * Quiet-hours answers by zones, window and UTC minute, shared by every batch of the instance:
   * windows open and close on whole local minutes and zone offsets are whole minutes, so one
   * answer holds for its whole minute (the clock is consulted once per minute, not per message).
   */
  quiet: Map<string, Date | undefined>;
}

interface LoadedSegments extends Loaded {
  segments: Map<string, SegmentInfo>;
}

/** Loads a batch's compliance context once, whichever policy asks first. */
export class ComplianceContext {
  private readonly accept = new WeakMap<readonly AcceptCandidate[], Promise<Loaded>>();
  private readonly dispatch = new WeakMap<readonly ClaimedSegment[], Promise<LoadedSegments>>();

  private readonly quiet = new Map<string, Date | undefined>();

  constructor(readonly src: ComplianceSources) {}

  private quietMemo(): Map<string, Date | undefined> {
    if (this.quiet.size > 20_000) this.quiet.clear();
    return this.quiet;
  }

  forAccept(cs: readonly AcceptCandidate[]): Promise<Loaded> {
    let p = this.accept.get(cs);
    if (!p) {
      p = (async () => {
        // Candidates whose recipient the accept path read already need no second look-up.
        const unread = cs.filter((c) => c.contact === undefined);
        const [contacts, settings, zones] = await Promise.all([
          unread.length === 0
            ? new Map<string, ContactInfo>()
            : this.src.contacts(unread.map((c) => ({ accountId: c.accountId, to: c.to }))),
          this.src.settings(cs.map((c) => c.accountId)),
          this.src.zones(cs.map((c) => c.to)),
        ]);
        for (const c of cs) if (c.contact) contacts.set(`${c.accountId} ${c.to}`, c.contact);
        return { contacts, settings, zones, now: this.src.now(), quiet: this.quietMemo() };
      })();
      this.accept.set(cs, p);
    }
    return p;
  }

  forDispatch(segs: readonly ClaimedSegment[]): Promise<LoadedSegments> {
    let p = this.dispatch.get(segs);
    if (!p) {
      p = (async () => {
        const [segments, zones] = await Promise.all([
          this.src.segments(segs.map((s) => ({ messageId: s.messageId, from: s.from, to: s.to }))),
          this.src.zones(segs.map((s) => s.to)),
        ]);
        const settings = await this.src.settings([
          ...new Set([...segments.values()].map((x) => x.accountId)),
        ]);
        const contacts = new Map<string, ContactInfo>();
        return { segments, settings, zones, contacts, now: this.src.now(), quiet: this.quietMemo() };
      })();
      this.dispatch.set(segs, p);
    }
    return p;
  }
}

/** The zones quiet hours apply in: the contact's own, else the number's, else the account's. */
export function recipientZones(
  contact: ContactInfo | undefined,
  numberZones: readonly string[] | undefined,
  s: ComplianceSettings,
): readonly string[] {
  if (contact?.timeZone) return [contact.timeZone];
  if (numberZones && numberZones.length > 0) return numberZones;
  return [s.quietHours.timeZone];
}

/** When the message may go (undefined: now, or quiet hours off); answers memoised per batch. */
function quietUntil(
  l: Loaded,
  s: ComplianceSettings | undefined,
  contact: ContactInfo | undefined,
  numberZones: readonly string[] | undefined,
  now: Date,
  to: string,
): Date | undefined {
  if (!s?.quietHours.enabled) return undefined;
  const zones = recipientZones(contact, numberZones, s);
  const q = s.quietHours;
  const rule = q.stateRules ? STATE_RULES.get(regionOfNanp(to) ?? '') : undefined;
  const key = `${zones.join(' ')}|${q.start}|${q.end}|${rule?.state ?? ''}|${Math.floor(now.getTime() / 60_000)}`;
  if (l.quiet.has(key)) return l.quiet.get(key);
  let until: Date | undefined;
  if (rule) {
    const week = weekFor(q, rule);
    until = nextAllowedBy(zones, (d) => week[d], now);
  } else until = nextAllowed(zones, q, now);
  l.quiet.set(key, until);
  return until;
}

export function optOutAcceptPolicy(ctx: ComplianceContext): Policy<AcceptCandidate, Loaded> {
  return {
    name: 'opt-out',
    load: (cs) => ctx.forAccept(cs),
    decide: (c, l) => (l.contacts.get(`${c.accountId} ${c.to}`)?.dnd ? REFUSED : ALLOW),
  };
}

export function quietHoursAcceptPolicy(ctx: ComplianceContext): Policy<AcceptCandidate, Loaded> {
  return {
    name: 'quiet-hours',
    load: (cs) => ctx.forAccept(cs),
    decide: (c, l) => {
      const s = l.settings.get(c.accountId);
      const until = quietUntil(
        l,
        s,
        l.contacts.get(`${c.accountId} ${c.to}`),
        l.zones.get(c.to),
        c.now,
        c.to,
      );
      if (!until) return ALLOW;
      if ((c.quietHours ?? s!.quietHours.mode) === 'reject')
        return {
          kind: 'reject',
          code: 'QUIET_HOURS',
          message: `quiet hours where the recipient is; the window opens at ${until.toISOString()}`,
          status: 'rejected',
          reason: 'quiet_hours',
        };
      return { kind: 'defer', until, reason: 'quiet_hours' };
    },
  };
}

export function optOutDispatchPolicy(ctx: ComplianceContext): Policy<ClaimedSegment, LoadedSegments> {
  return {
    name: 'opt-out',
    load: (segs) => ctx.forDispatch(segs),
    decide: (seg, l) => {
      const i = l.segments.get(seg.messageId);
      return i?.contact?.dnd && !i.exempt ? ENDED : ALLOW;
    },
  };
}

export function quietHoursDispatchPolicy(ctx: ComplianceContext): Policy<ClaimedSegment, LoadedSegments> {
  return {
    name: 'quiet-hours',
    load: (segs) => ctx.forDispatch(segs),
    decide: (seg, l) => {
      const i = l.segments.get(seg.messageId);
      if (!i || i.exempt) return ALLOW;
      const until = quietUntil(l, l.settings.get(i.accountId), i.contact, l.zones.get(seg.to), l.now, seg.to);
      return until ? { kind: 'defer', until, reason: 'quiet_hours' } : ALLOW;
    },
  };
}

/** Whether a first message names the business (CTIA: a first message identifies its sender). */
export function namesBusiness(body: string, s: ComplianceSettings): boolean {
  const name = s.businessName.trim().toLowerCase();
  return name.length > 0 && body.toLowerCase().includes(name);
}

/**
 * Accept, late (only messages every earlier rule let through claim): the first message from the
 * account to each contact carries the footer — exactly once per contact, whatever races (the claim
 * is one atomic upsert per contact in PostgreSQL).
 */
export function footerAcceptPolicy(
  ctx: ComplianceContext,
): Policy<AcceptCandidate, { claimed: Set<string>; settings: Map<string, ComplianceSettings> }> {
  return {
    name: 'footer',
    late: true,
    load: async (cs) => {
      const settings = await ctx.src.settings(cs.map((c) => c.accountId));
      const first = new Map<string, AcceptCandidate>();
      const asking: AcceptCandidate[] = [];
      for (const c of cs) {
        if (!settings.get(c.accountId)?.footer.enabled) continue;
        // A contact whose first message is taken needs no claim: no upsert (and row lock) for
        // every message to a known recipient. The claim stays the only decider of the footer.
        if (c.contact?.firstSent === true) continue;
        // A claim upserts the contact: on a guessed recipient it would write before the guess is
        // verified (and a wrong guess would leave a claim held by a message never stored).
        if (c.guessedNewContact === true) {
          c.guessRefused = true;
          continue;
        }
        asking.push(c);
        const k = `${c.accountId} ${c.to}`;
        if (!first.has(k)) first.set(k, c);
      }
      const claimed = await ctx.src.claimFirst(
        [...first.values()].map((c) => ({ accountId: c.accountId, to: c.to, messageId: c.id })),
      );
      // The claim upserted a contact for every key it was given, claimed or not: the accept
      // insert need not probe for them again (a unique-index probe per new recipient).
      for (const c of asking) c.contactStored = true;
      return { claimed, settings };
    },
    decide: (c, l) => {
      if (!l.claimed.has(c.id)) return ALLOW;
      const s = l.settings.get(c.accountId)!;
      return {
        kind: 'transform',
        body: withFooter(c.body, s.footer.text),
        ...(namesBusiness(c.body, s) ? {} : { warnings: ['business_name_missing'] }),
      };
    },
  };
}

/**
 * Accept: at most `max` messages to one contact per `hours` when the account sets a frequency
 * cap; the rest are refused (422 FREQUENCY_CAP). Counted from what is stored plus what this batch
 * already let through; concurrent requests to one contact may pass the cap by the messages in flight.
 */
export function frequencyCapPolicy(
  ctx: ComplianceContext,
): Policy<AcceptCandidate, { counts: Map<string, number>; settings: Map<string, ComplianceSettings> }> {
  return {
    name: 'frequency-cap',
    load: async (cs) => {
      const settings = await ctx.src.settings(cs.map((c) => c.accountId));
      const pairs = new Map<string, { accountId: string; to: string; sinceMs: number }>();
      for (const c of cs) {
        const cap = settings.get(c.accountId)?.frequencyCap;
        if (cap?.enabled)
          pairs.set(`${c.accountId} ${c.to}`, {
            accountId: c.accountId,
            to: c.to,
            sinceMs: cap.hours * 3_600_000,
          });
      }
      const counts =
        pairs.size === 0 ? new Map<string, number>() : await ctx.src.recentCounts([...pairs.values()]);
      return { counts, settings };
    },
    decide: (c, l) => {
      const cap = l.settings.get(c.accountId)?.frequencyCap;
      if (!cap?.enabled) return ALLOW;
      const k = `${c.accountId} ${c.to}`;
      const n = l.counts.get(k) ?? 0;
      if (n >= cap.max)
        return {
          kind: 'reject',
          code: 'FREQUENCY_CAP',
          message: `at most ${cap.max} messages to one contact per ${cap.hours} h`,
          status: 'rejected',
          reason: 'frequency_cap',
        };
      l.counts.set(k, n + 1);
      return ALLOW;
    },
  };
}
