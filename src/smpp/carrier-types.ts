/** What a Carrier answers and whom it tells: the types its users see (carrier.ts is the behaviour). */
import type { BindState } from './carrier-bind.ts';
import type { MoPart } from './inbound.ts';
import type { Receipt } from './receipt.ts';
import type { RejectedPdu, SubmitFields } from './session-types.ts';

/**
 * Final answer for one submit_sm. `possiblySubmitted`: the SMSC may have it (resend = possible
 * duplicate). `idKey` is the SMSC id reduced to the key receipts are matched by (message-id.ts).
 */
export type SubmitOutcome =
  | { kind: 'ok'; messageId: string; idKey: string; bindId: string; attempts: number }
  | {
      kind: 'retryable';
      code: string;
      reason: string;
      commandStatus?: number;
      attempts: number;
      possiblySubmitted: boolean;
    }
  | { kind: 'failed'; code: string; reason: string; commandStatus: number; attempts: number };

export interface CarrierHandlers {
  /**
   * A delivery receipt and the id keys it may match (most likely first); resolve once it is
   * stored. A rejection answers the SMSC with a temporary error so it resends.
   */
  onReceipt(receipt: Receipt, candidates: string[], bindId: string): Promise<void> | void;
  /** An MO message or one part of a concatenated one; resolve once it is stored (same contract). */
  onMo(part: MoPart, bindId: string): Promise<void> | void;
  onBindState?(bindId: string, state: BindState, reason?: string): void;
  /** A submit_sm_resp: the time since the submit_sm in ms, and its command_status. */
  onSubmitResponse?(ms: number, commandStatus: number): void;
  /** How long a submit waited for room in a bind's window before it was written, in ms. */
  onQueueWait?(ms: number): void;
  /** A malformed PDU from the SMSC was answered with an error (the session goes on). */
  onRejectedPdu?(bindId: string, pdu: RejectedPdu): void;
  /** A receipt without id or state was acknowledged and dropped. */
  onInvalidReceipt?(bindId: string): void;
  /** The SMSC answered a submit ESME_RTHROTTLED (it is retried): who sent over the limit. */
  onThrottled?(fields: SubmitFields): void;
}
