import { describe, expect, it } from 'vitest';
import { RegistrationService } from '../../src/numbers/registration-service.ts';

describe('the registration poller', () => {
  // Regression (issue 9 session): one item the registry answered badly threw out of the whole
  // round, so every brand, campaign, verification and assignment after it waited for ever.
  it('asks about each item on its own: one bad answer holds back nothing else', async () => {
    const recorded: string[] = [];
    const warnings: Array<Record<string, unknown>> = [];
    const brands = {
      submitted: async () => [
        { id: 'b1', registryId: 'R-B1', entityType: 'PRIVATE_PROFIT' },
        { id: 'b2', registryId: 'R-B2', entityType: 'PRIVATE_PROFIT' },
      ],
      review: async (id: string, r: { status: string }) => void recorded.push(`brand ${id} ${r.status}`),
    };
    const campaigns = {
      watched: async () => [{ id: 'c1', registryId: 'R-C1', status: 'submitted' }],
      setStatus: async (id: string, _from: string, to: string) => void recorded.push(`campaign ${id} ${to}`),
      pendingAssignments: async () => [
        { numberId: 'n1', registryId: 'R-A1' },
        { numberId: 'n2', registryId: 'R-A2' },
      ],
      settleAssignment: async (id: string, _r: string, outcome: string) => {
        if (id === 'n1') throw new Error('deadlock detected');
        recorded.push(`number ${id} ${outcome}`);
      },
    };
    const tollFree = {
      inReview: async () => {
        throw new Error('connection terminated');
      },
      review: async () => undefined,
    };
    const registry = {
      brand: async (id: string) => {
        if (id === 'R-B1') throw new Error('the registry answered 200 with status "pending"');
        return { status: 'approved', reason: null, identityStatus: 'VERIFIED', vettingScore: 80 };
      },
      campaign: async () => ({ status: 'approved', reason: null }),
      tollFree: async () => ({ status: 'approved', reason: null }),
      assignment: async () => ({ status: 'approved', reason: null }),
    };
    const log = { warn: (o: Record<string, unknown>) => void warnings.push(o) };
    const s = new RegistrationService(
      brands as never,
      campaigns as never,
      tollFree as never,
      registry as never,
      log as never,
      1_000,
    );
    await s.poll();
    expect(recorded).toEqual(['brand b2 approved', 'campaign c1 approved', 'number n2 assigned']);
    expect(warnings.map((w) => [w.kind, w.failed, w.of])).toEqual([
      ['brand', 1, 2],
      ['toll-free verification', undefined, undefined],
      ['number assignment', 1, 2],
    ]);
  });
});
