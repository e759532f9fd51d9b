import type { Logger } from '../logger.ts';
import type { BrandsRepo } from '../store/brands-repo.ts';
import type { CampaignsRepo } from '../store/campaigns-repo.ts';
import type { TollFreeRepo } from '../store/toll-free-repo.ts';
import { throughputClass } from './brands.ts';
import type { Registry } from './registry.ts';

/**
 * Every `pollMs`, asks the registry about submitted brands and campaigns (and approved campaigns,
 * which a carrier may suspend), toll-free verifications and numbers pending assignment to a
 * campaign, and records what it says. A registry that does not answer is asked again next time;
 * each instance may poll (an update applies only over the state it was read in, so two instances
 * record one review once).
 */
export class RegistrationService {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly brands: BrandsRepo,
    private readonly campaigns: CampaignsRepo,
    private readonly tollFree: TollFreeRepo,
    private readonly registry: Registry,
    private readonly log: Logger,
    private readonly pollMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  /** One round: every submitted brand (up to 500) asked once. Never rejects. */
  async poll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const b of await this.brands.submitted(500)) {
        const r = await this.registry.brand(b.registryId);
        if (!r || r.status === 'submitted') continue;
        await this.brands.review(b.id, {
          status: r.status,
          reason: r.status === 'rejected' ? (r.reason ?? 'rejected by the registry') : null,
          identityStatus: r.identityStatus,
          vettingScore: r.vettingScore,
          throughputClass:
            r.status === 'approved' ? throughputClass(b.entityType, r.identityStatus, r.vettingScore) : null,
        });
      }
      for (const c of await this.campaigns.watched(500)) {
        const r = await this.registry.campaign(c.registryId);
        if (!r || r.status === c.status || r.status === 'submitted') continue;
        await this.campaigns.setStatus(
          c.id,
          c.status,
          r.status,
          r.status === 'approved' ? null : (r.reason ?? r.status),
        );
      }
      for (const t of await this.tollFree.inReview(500)) {
        const r = await this.registry.tollFree(t.registryId);
        if (!r || r.status === 'submitted') continue;
        await this.tollFree.review(
          t.numberId,
          r.status === 'approved' ? 'verified' : 'rejected',
          r.status === 'approved' ? null : (r.reason ?? 'rejected by the reviewer'),
        );
      }
      for (const a of await this.campaigns.pendingAssignments(500)) {
        const r = await this.registry.assignment(a.registryId);
        if (!r || r.status === 'submitted') continue;
        await this.campaigns.settleAssignment(
          a.numberId,
          a.registryId,
          r.status === 'approved' ? 'assigned' : 'failed_assignment',
          r.status === 'approved' ? null : (r.reason ?? 'the carriers refused the number'),
        );
      }
    } catch (err) {
      this.log.warn({ err }, 'brand reviews not read; asking again later');
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
