/** Fixtures of the pure core's inputs, shared by the unit tests. */
import type { ClaimedSegment } from '../../src/messaging/model.ts';
import type { InboundPdu } from '../../src/smpp/inbound.ts';

/** A deliver_sm as the inbound classifier sees it: an empty MO from 15551230000 to 12345, unless `over` says otherwise. */
export function inboundPdu(over: Partial<InboundPdu>): InboundPdu {
  return {
    sourceAddr: '15551230000',
    sourceAddrTon: 1,
    destinationAddr: '12345',
    destAddrTon: 0,
    esmClass: 0,
    dataCoding: 0,
    shortMessage: Buffer.alloc(0),
    ...over,
  };
}

/** A claimed single-part segment ('hi', GSM-7, first attempt, valid for a minute), unless `over` says otherwise. */
export function claimedSegment(over: Partial<ClaimedSegment> = {}): ClaimedSegment {
  return {
    messageId: 'm',
    idx: 0,
    parts: 1,
    from: '+15550100001',
    to: '+14155550123',
    numberType: 'local',
    payload: Buffer.from('hi'),
    dataCoding: 0,
    esmClass: 0,
    usePayloadTlv: false,
    profile: 'g0.u.r8.udh',
    expiresAt: new Date(Date.now() + 60_000),
    attempts: 1,
    resends: 0,
    ...over,
  };
}
