/**
 * From a claimed segment to submit_sm fields, and from a carrier's answer to where the segment
 * goes next. Pure.
 */
import { type BackoffPolicy, backoffDelay } from '../smpp/backoff.ts';
import type { SubmitOutcome } from '../smpp/carrier.ts';
import { STATUS } from '../smpp/command-status.ts';
import type { SubmitFields } from '../smpp/session-types.ts';
import type { ClaimedSegment, DraftSegment, SegmentOutcome } from './model.ts';
import type { Reason } from './vocabulary.ts';

/**
 * submit_sm fields for a segment: E.164 as international TON/NPI, short codes as network-specific.
 * `encoded` replaces the stored payload when the carrier needs another encoding.
 */
export function submitFieldsFor(
  seg: ClaimedSegment,
  encoded: Pick<DraftSegment, 'payload' | 'dataCoding' | 'esmClass' | 'usePayloadTlv'> = seg,
): SubmitFields {
  const shortCode = seg.numberType === 'short_code';
  return {
    serviceType: '',
    sourceAddr: seg.from.replace(/^\+/, ''),
    sourceAddrTon: shortCode ? 3 : 1,
    sourceAddrNpi: shortCode ? 0 : 1,
    destinationAddr: seg.to.replace(/^\+/, ''),
    destAddrTon: 1,
    destAddrNpi: 1,
    esmClass: encoded.esmClass,
    protocolId: 0,
    priorityFlag: 0,
    validityPeriod: '',
    registeredDelivery: 1,
    dataCoding: encoded.dataCoding,
    shortMessage: encoded.usePayloadTlv ? Buffer.alloc(0) : encoded.payload,
    messagePayload: encoded.usePayloadTlv ? encoded.payload : undefined,
  };
}

/** Why a retryable answer sends the segment back to the queue. */
const RETRY_REASON: Record<string, Reason> = {
  SMPP_RESPONSE_TIMEOUT: 'response_timeout',
  SMPP_BIND_LOST: 'bind_lost',
  SMPP_BIND_STATE: 'bind_lost',
  CARRIER_STOPPED: 'bind_lost',
  NO_BIND_AVAILABLE: 'no_carrier_bound',
  SMPP_THROTTLED: 'throttled',
  SMPP_TEMPORARY_ERROR: 'temporary_error',
  SMPP_QUEUE_FULL: 'destination_busy',
};

/** The command_status as stored: `0x0000000b`. */
export function commandStatusCode(status: number): string {
  return `0x${status.toString(16).padStart(8, '0')}`;
}

/** Reason for a permanent submit_sm_resp error. */
export function rejectReason(commandStatus: number): Reason {
  return commandStatus === STATUS.ESME_RINVDSTADR ? 'invalid_number' : 'carrier_rejected';
}

/**
 * Maps a carrier's answer to where the segment goes next. A submit that may have reached the SMSC
 * (timeout, dropped bind) is re-sent at most once, marked possibleDuplicate; a second such answer
 * fails it as submit_outcome_unknown rather than risk a third copy. Queue-full waits
 * `destinationWaitMs` (the destination's back-off).
 */
export function outcomeFor(
  seg: ClaimedSegment,
  carrierId: string,
  o: SubmitOutcome,
  retry: BackoffPolicy,
  destinationWaitMs = 0,
): SegmentOutcome {
  // Literals written out, not `{ ...base, … }`: on Node 20 a spread followed by more properties
  // took ~4 µs per outcome (2.5 % of the gateway's CPU in bench e2e; 0.03 µs written out).
  const messageId = seg.messageId;
  const idx = seg.idx;
  switch (o.kind) {
    case 'ok':
      return { messageId, idx, status: 'sent', carrierId, smscId: o.messageId, idKey: o.idKey };
    case 'failed':
      return {
        messageId,
        idx,
        status: 'failed',
        carrierId,
        reason: rejectReason(o.commandStatus),
        errorCode: commandStatusCode(o.commandStatus),
      };
    default: {
      // Withdrawn before it was written (the contact opted out meanwhile): claimed again at once,
      // where the dispatch policies decide; the attempt does not count.
      if (o.code === 'WITHDRAWN')
        return {
          messageId,
          idx,
          status: 'queued',
          delayMs: 200,
          possibleDuplicate: false,
          reason: 'withdrawn',
          deferred: true,
        };
      const reason = RETRY_REASON[o.code] ?? 'temporary_error';
      if (o.possiblySubmitted) {
        if (seg.resends >= 1)
          return { messageId, idx, status: 'failed', carrierId, reason: 'submit_outcome_unknown' };
        return {
          messageId,
          idx,
          status: 'queued',
          delayMs: 0,
          possibleDuplicate: true,
          reason,
          deferred: false,
        };
      }
      const delayMs =
        o.code === 'SMPP_QUEUE_FULL' ? destinationWaitMs : backoffDelay(retry, seg.attempts - 1);
      return { messageId, idx, status: 'queued', delayMs, possibleDuplicate: false, reason, deferred: false };
    }
  }
}
