import type { EventBus } from '../messaging/events.ts';
import { observedWrite } from '../messaging/events.ts';
import { Batcher } from '../store/batcher.ts';
import { ComplianceContext } from './policies.ts';
import type { ComplianceStore, ContactInfo } from './ports.ts';
import type { SettingsCache } from './settings-cache.ts';

/**
 * The compliance policies' context over the store, with the per-request look-ups coalesced:
 * concurrent single requests share one contact look-up and one first-message claim statement
 * (of several claims for one contact in a flush, the first claims: a row is written once per
 * statement).
 */
export function coalescedComplianceContext(
  store: Pick<ComplianceStore, 'contactInfo' | 'claimFirstMessages' | 'segmentInfo' | 'recentCounts'>,
  bus: EventBus,
  settings: SettingsCache,
  zones: (numbers: Iterable<string>) => Promise<Map<string, readonly string[]>>,
): ComplianceContext {
  const contactLookup = new Batcher<{ accountId: string; to: string }, ContactInfo | undefined>(
    observedWrite(bus, 'contact_lookup', async (pairs) => {
      const found = await store.contactInfo(pairs);
      return pairs.map((p) => found.get(`${p.accountId} ${p.to}`));
    }),
    { maxItems: 2000, maxDelayMs: 1, concurrency: 4 },
  );
  const firstClaims = new Batcher<{ accountId: string; to: string; messageId: string }, boolean>(
    observedWrite(bus, 'first_message_claims', async (claims) => {
      const first = new Map<string, (typeof claims)[number]>();
      for (const c of claims)
        if (!first.has(`${c.accountId} ${c.to}`)) first.set(`${c.accountId} ${c.to}`, c);
      const claimed = await store.claimFirstMessages([...first.values()]);
      return claims.map((c) => claimed.has(c.messageId));
    }),
    { maxItems: 2000, maxDelayMs: 1, concurrency: 2 },
  );
  return new ComplianceContext({
    contacts: async (pairs) => {
      const settled = await contactLookup.addAll(pairs);
      const out = new Map<string, ContactInfo>();
      settled.forEach((r, i) => {
        if (r.status === 'rejected') throw r.reason;
        if (r.value) out.set(`${pairs[i]!.accountId} ${pairs[i]!.to}`, r.value);
      });
      return out;
    },
    segments: (segs) => store.segmentInfo(segs),
    settings: (ids) => settings.get(ids),
    zones,
    recentCounts: (pairs) => store.recentCounts(pairs),
    claimFirst: async (claims) => {
      const settled = await firstClaims.addAll(claims);
      const out = new Set<string>();
      settled.forEach((r, i) => {
        if (r.status === 'rejected') throw r.reason;
        if (r.value) out.add(claims[i]!.messageId);
      });
      return out;
    },
    now: () => new Date(),
  });
}
