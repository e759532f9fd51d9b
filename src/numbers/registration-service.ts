import type { Logger } from '../logger.ts';
import type { BrandsRepo } from '../store/brands-repo.ts';
import type { CampaignsRepo } from '../store/campaigns-repo.ts';
import type { TollFreeRepo } from '../store/toll-free-repo.ts';
import { throughputClass } from './brands.ts';
import type { Registry } from './registry.ts';

type Item<F extends (n: number) => Promise<unknown[]>> = Awaited<ReturnType<F>>[number];
type Answer<F extends (id: string) => Promise<unknown>> = NonNullable<Awaited<ReturnType<F>>>;

/** One kind of review the poller follows: what to ask about, how to ask, what to record. */
interface Watch<T, R> {
  kind: string;
  list(): Promise<T[]>;
  ask(item: T): Promise<R | undefined>;
  /** Records the answer; returns false when there is nothing to record yet. */
  record(item: T, answer: R): Promise<boolean>;
}

/**
 * Every `pollMs`, asks the registry about submitted brands and campaigns (and approved campaigns,
 * which a carrier may suspend), toll-free verifications and numbers pending assignment to a
 * campaign, and records what it says. A registry that does not answer is asked again next time;
 * each instance may poll (an update applies only over the state it was read in, so two instances
 * record one review once). Each item is asked on its own: one the registry answers badly (or whose
 * record fails) is logged and asked again next round, never holding back the rest.
 */
export class RegistrationService {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly watches: Array<Watch<never, never>>;

  constructor(
    brands: BrandsRepo,
    campaigns: CampaignsRepo,
    tollFree: TollFreeRepo,
    registry: Registry,
    private readonly log: Logger,
    private readonly pollMs: number,
    private readonly batch = 500,
  ) {
    const brandWatch: Watch<Item<BrandsRepo['submitted']>, Answer<Registry['brand']>> = {
      kind: 'brand',
      list: () => brands.submitted(this.batch),
      ask: (b) => registry.brand(b.registryId),
      record: async (b, r) => {
        if (r.status === 'submitted') return false;
        await brands.review(b.id, {
          status: r.status,
          reason: r.status === 'rejected' ? (r.reason ?? 'rejected by the registry') : null,
          identityStatus: r.identityStatus,
          vettingScore: r.vettingScore,
          throughputClass:
            r.status === 'approved' ? throughputClass(b.entityType, r.identityStatus, r.vettingScore) : null,
        });
        return true;
      },
    };
    const campaignWatch: Watch<Item<CampaignsRepo['watched']>, Answer<Registry['campaign']>> = {
      kind: 'campaign',
      list: () => campaigns.watched(this.batch),
      ask: (c) => registry.campaign(c.registryId),
      record: async (c, r) => {
        if (r.status === c.status || r.status === 'submitted') return false;
        await campaigns.setStatus(
          c.id,
          c.status,
          r.status,
          r.status === 'approved' ? null : (r.reason ?? r.status),
        );
        return true;
      },
    };
    const tollFreeWatch: Watch<Item<TollFreeRepo['inReview']>, Answer<Registry['tollFree']>> = {
      kind: 'toll-free verification',
      list: () => tollFree.inReview(this.batch),
      ask: (t) => registry.tollFree(t.registryId),
      record: async (t, r) => {
        if (r.status === 'submitted') return false;
        await tollFree.review(
          t.numberId,
          r.status === 'approved' ? 'verified' : 'rejected',
          r.status === 'approved' ? null : (r.reason ?? 'rejected by the reviewer'),
        );
        return true;
      },
    };
    const assignmentWatch: Watch<
      Item<CampaignsRepo['pendingAssignments']>,
      Answer<Registry['assignment']>
    > = {
      kind: 'number assignment',
      list: () => campaigns.pendingAssignments(this.batch),
      ask: (a) => registry.assignment(a.registryId),
      record: async (a, r) => {
        if (r.status === 'submitted') return false;
        await campaigns.settleAssignment(
          a.numberId,
          a.registryId,
          r.status === 'approved' ? 'assigned' : 'failed_assignment',
          r.status === 'approved' ? null : (r.reason ?? 'the carriers refused the number'),
        );
        return true;
      },
    };
    this.watches = [brandWatch, campaignWatch, tollFreeWatch, assignmentWatch] as unknown as Array<
      Watch<never, never>
    >;
  }

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  /** One round: every pending item of every kind (up to `batch` each) asked once. Never rejects. */
  async poll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const w of this.watches) await this.follow(w);
    } finally {
      this.running = false;
    }
  }

  private async follow<T, R>(w: Watch<T, R>): Promise<void> {
    let items: T[];
    try {
      items = await w.list();
    } catch (err) {
      this.log.warn({ err: (err as Error).message, kind: w.kind }, 'reviews not listed; asking again later');
      return;
    }
    let failed = 0;
    let firstError: string | undefined;
    for (const item of items) {
      try {
        const r = await w.ask(item);
        if (r !== undefined) await w.record(item, r);
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
    // One line per kind and round, not per item: a registry that is down fails them all.
    if (failed > 0)
      this.log.warn(
        { kind: w.kind, failed, of: items.length, err: firstError },
        'reviews not read; asking again later',
      );
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
