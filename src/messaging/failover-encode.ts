/**
 * Failover to a carrier that cuts text differently: what each claimed segment becomes. A
 * single-row message is re-encoded in memory; a multi-row one is re-split in the database while
 * none of its parts was submitted (its new rows are claimed again at once); once a part is out,
 * the rest keeps the split it began with (UDH parts are valid on any SMPP carrier) with the
 * carrier's GSM data_coding.
 */
import { dataCodingFor, encodeForProfile, referenceOf } from './encode-profile.ts';
import type { ClaimedSegment, DraftSegment } from './model.ts';
import type { CarrierLink, DispatchStore } from './ports.ts';

/** What a submit needs of a segment's encoding. */
export type Encoded = Pick<DraftSegment, 'payload' | 'dataCoding' | 'esmClass' | 'usePayloadTlv'>;

/** A segment bound for `carrier`, with what the caller carries along (its send slot). */
export interface FailoverItem<T> {
  seg: ClaimedSegment;
  carrier: CarrierLink;
  slot: T;
}

export type FailoverStep<T> =
  | (FailoverItem<T> & { kind: 'submit'; encoded: Encoded })
  /** Re-split in the database: its new rows are claimed again; this one is done. */
  | (FailoverItem<T> & { kind: 'replaced' });

/**
 * One step per item, in order. Rejects when the bodies cannot be read (nothing was changed; the
 * caller defers the items); a failed re-split falls back to the old split with the carrier's
 * data_coding.
 */
export async function failoverSteps<T>(
  items: ReadonlyArray<FailoverItem<T>>,
  store: Pick<DispatchStore, 'bodies' | 'resplit'>,
): Promise<Array<FailoverStep<T>>> {
  const bodies = await store.bodies([...new Set(items.map((x) => x.seg.messageId))]);
  const resplit = new Map<string, boolean>();
  const out: Array<FailoverStep<T>> = [];
  for (const item of items) {
    const { seg, carrier } = item;
    const body = bodies.get(seg.messageId);
    // Object.assign, not `{ ...x, … }`: a spread followed by more properties is slow on Node 20 (outcome.ts).
    const fallback = Object.assign({}, seg, { dataCoding: dataCodingFor(seg.dataCoding, carrier.profile) });
    if (body === undefined) {
      out.push(Object.assign({}, item, { kind: 'submit' as const, encoded: fallback }));
      continue;
    }
    const ref = referenceOf(seg.payload, seg.esmClass) ?? Number.parseInt(seg.messageId.slice(-4), 16);
    const enc = encodeForProfile(body, carrier.profile, ref);
    if (seg.parts === 1 && enc.segments.length === 1) {
      out.push(Object.assign({}, item, { kind: 'submit' as const, encoded: enc.segments[0]! }));
      continue;
    }
    let replaced = resplit.get(seg.messageId);
    if (replaced === undefined) {
      replaced = await store
        .resplit(seg.messageId, {
          segments: enc.segments,
          segmentCount: enc.segmentCount,
          encoding: enc.encoding,
          profile: enc.profile,
        })
        .catch(() => false);
      resplit.set(seg.messageId, replaced);
    }
    out.push(
      replaced
        ? Object.assign({}, item, { kind: 'replaced' as const })
        : Object.assign({}, item, { kind: 'submit' as const, encoded: fallback }),
    );
  }
  return out;
}
