import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE } from '../../src/messaging/encode-profile.ts';
import { type FailoverItem, failoverSteps } from '../../src/messaging/failover-encode.ts';
import type { CarrierLink } from '../../src/messaging/ports.ts';
import { claimedSegment } from '../helpers/core-fixtures.ts';

// A carrier whose GSM data_coding is 1 (IA5) and that takes long text as one message_payload.
const payloadCarrier: CarrierLink = {
  id: 'b',
  profile: { ...DEFAULT_PROFILE, gsmDataCoding: 1, longMessageMode: 'payload' },
  healthyTransmitters: 1,
  submit: async () => ({
    kind: 'retryable',
    code: 'X',
    reason: 'unused',
    attempts: 0,
    possiblySubmitted: false,
  }),
};
const item = (messageId: string, idx: number, parts: number): FailoverItem<string> => ({
  seg: claimedSegment({ messageId, idx, parts, dataCoding: 0 }),
  carrier: payloadCarrier,
  slot: `slot-${messageId}-${idx}`,
});
const LONG = 'x'.repeat(200);

describe('failover re-encoding (failoverSteps)', () => {
  it('a single-part message is re-encoded in memory for the carrier, nothing re-split', async () => {
    let resplits = 0;
    const steps = await failoverSteps([item('m1', 0, 1)], {
      bodies: async () => new Map([['m1', 'hello']]),
      resplit: async () => ++resplits > 0,
    });
    expect(resplits).toBe(0);
    expect(steps).toHaveLength(1);
    const s = steps[0]!;
    expect(s.kind).toBe('submit');
    if (s.kind === 'submit') {
      expect(s.encoded.dataCoding).toBe(1);
      expect(s.encoded.payload.toString()).toBe('hello');
    }
    expect(s.slot).toBe('slot-m1-0');
  });

  it('a multi-part message is re-split once for all its claimed parts, which are then done', async () => {
    const asked: string[] = [];
    const steps = await failoverSteps([item('m2', 0, 2), item('m2', 1, 2)], {
      bodies: async () => new Map([['m2', LONG]]),
      resplit: async (id) => {
        asked.push(id);
        return true;
      },
    });
    expect(asked).toEqual(['m2']);
    expect(steps.map((s) => [s.kind, s.slot])).toEqual([
      ['replaced', 'slot-m2-0'],
      ['replaced', 'slot-m2-1'],
    ]);
  });

  it('a re-split that fails or is refused keeps the old split with the carrier’s data_coding', async () => {
    for (const resplit of [async () => false, async () => Promise.reject(new Error('db down'))]) {
      const steps = await failoverSteps([item('m3', 0, 2), item('m3', 1, 2)], {
        bodies: async () => new Map([['m3', LONG]]),
        resplit,
      });
      expect(steps.map((s) => s.kind)).toEqual(['submit', 'submit']);
      for (const s of steps)
        if (s.kind === 'submit') {
          expect(s.encoded.dataCoding).toBe(1);
          expect(s.encoded.payload).toEqual(s.seg.payload);
        }
    }
  });

  it('a message whose body is gone is sent as stored, with the carrier’s data_coding', async () => {
    const steps = await failoverSteps([item('m4', 0, 1)], {
      bodies: async () => new Map(),
      resplit: async () => true,
    });
    expect(steps[0]!.kind).toBe('submit');
    if (steps[0]!.kind === 'submit') expect(steps[0]!.encoded.dataCoding).toBe(1);
  });

  it('rejects when the bodies cannot be read, re-splitting nothing (the dispatcher defers them)', async () => {
    let resplits = 0;
    await expect(
      failoverSteps([item('m5', 0, 2)], {
        bodies: async () => Promise.reject(new Error('connection lost')),
        resplit: async () => ++resplits > 0,
      }),
    ).rejects.toThrow('connection lost');
    expect(resplits).toBe(0);
  });
});
