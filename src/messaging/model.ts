/**
 * The messaging core's model: what a client asks to send, a message ready to store, a segment
 * claimed for dispatch, what became of a submit, a receipt to apply, and a status change. The
 * store implements the ports (ports.ts) in these terms.
 */
import type { TrackedLink } from './links.ts';
import type { FinalStatus, MessageStatus, NumberType, Reason } from './vocabulary.ts';

/** What a client asks to send (validated shape, not yet checked against the account). */
export interface SendRequest {
  to: string;
  body: string;
  from?: string | undefined;
  /** The team member sending: their default number is the sender rule's third choice. */
  userId?: string | undefined;
  statusCallback?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  sendAt?: string | undefined;
  /** Inside the recipient's quiet hours: wait for the window (schedule) or refuse (reject); default the account's. */
  quietHours?: 'schedule' | 'reject' | undefined;
  /** Shorten URLs of the body to tracked links; undefined: the account's setting. */
  trackLinks?: boolean | undefined;
}

/** How a carrier wants text encoded; a message is encoded for the carrier that will take it. */
export interface EncodeProfile {
  /** data_coding for GSM-7 text: 0 (SMSC default) or 1 (IA5). */
  gsmDataCoding: 0 | 1;
  /** Latin-1 (data_coding 3) instead of UCS-2 when every character fits ISO-8859-1. */
  allowLatin1: boolean;
  /** Concatenation reference in the UDH: 8-bit (IEI 0) or 16-bit (IEI 8). */
  concatRef: '8bit' | '16bit';
  /** `udh`: one submit per segment; `payload`: the whole text in one message_payload TLV. */
  longMessageMode: 'udh' | 'payload';
}

/** One submit_sm's worth of a message: the unit of dispatch, submit result and receipt. */
export interface DraftSegment {
  idx: number;
  payload: Buffer;
  dataCoding: number;
  esmClass: number;
  usePayloadTlv: boolean;
}

/** A message ready to be stored: numbers normalised, text encoded for its route, cut into segments. */
export interface MessageDraft {
  id: string;
  accountId: string;
  from: string;
  to: string;
  numberType: NumberType;
  body: string;
  encoding: string;
  /** Billable segments (what the handset receives), also when sent as one message_payload. */
  segmentCount: number;
  /** Rows to dispatch: one per segment in UDH mode, one in payload mode. */
  segments: DraftSegment[];
  /** Key of the EncodeProfile the segments were encoded with. */
  profile: string;
  statusCallback: string | undefined;
  metadata: Record<string, unknown> | undefined;
  /** Not before this time (scheduled, or deferred by a policy); undefined = now. */
  sendAt: Date | undefined;
  expiresAt: Date;
  idempotencyKey: string | undefined;
  /** Hash of the request, kept only with an idempotency key (to tell a replay from a conflict). */
  requestHash: string | undefined;
  /** Said back to the caller (not stored), e.g. business_name_missing. */
  warnings?: string[] | undefined;
  /** Short links in the body, stored with the message. */
  links?: readonly TrackedLink[] | undefined;
  /** The recipient's contact is stored already (read or upserted at accept): the insert skips it. */
  contactStored?: boolean | undefined;
  /**
   * Prepared without reading the recipient, on the guess that they are no contact of the account
   * (and, when `accountDefault` is not undefined, that it is the account's default number): the
   * insert stores the draft only if that still holds, else skips it (see MessageStore.insertDrafts).
   */
  guess?: { accountDefault: string | null | undefined } | undefined;
}

/** A claimed segment: everything needed to decide on it and submit it without another query. */
export interface ClaimedSegment {
  messageId: string;
  idx: number;
  /** Rows of this message (1 for single-part and payload-mode messages). */
  parts: number;
  from: string;
  to: string;
  numberType: NumberType;
  payload: Buffer;
  dataCoding: number;
  esmClass: number;
  usePayloadTlv: boolean;
  profile: string;
  expiresAt: Date;
  attempts: number;
  resends: number;
  /**
   * It was waiting for a rate-limit slot (held back by the limits policy, asked back just before
   * the slot it was planned for), not claimed for the first time.
   */
  heldForSlot?: boolean | undefined;
}

/** Where a segment goes after a dispatch decision or a submit attempt. */
export type SegmentOutcome =
  | { messageId: string; idx: number; status: 'sent'; carrierId: string; smscId: string; idKey: string }
  | {
      messageId: string;
      idx: number;
      status: 'failed' | 'rejected' | 'expired';
      reason: Reason;
      carrierId?: string | undefined;
      /** The carrier's code, e.g. the command_status as 0x0000000b. */
      errorCode?: string | undefined;
    }
  | {
      messageId: string;
      idx: number;
      status: 'queued';
      delayMs: number;
      /**
       * When it is due (epoch ms, this clock), for a deferral to a set time: the delay is taken
       * from it as the write is sent, so the time the outcome waited for its write (batching, a
       * busy pool) does not make it come back late.
       */
      dueAt?: number;
      reason: Reason;
      possibleDuplicate: boolean;
      /** A policy deferred it before any submit: the claim does not count as an attempt. */
      deferred: boolean;
    };

/** A final receipt to apply to the segment whose SMSC id matches. */
export interface ReceiptUpdate {
  carrierId: string;
  /** The id as the SMSC wrote it (kept for operators when it never matches). */
  smscId: string;
  /** Keys the id may be stored under, most likely first (see smpp/message-id.ts). */
  candidates: string[];
  status: FinalStatus;
  errorCode: string | undefined;
  reason: Reason | null;
}

/** One message that changed status (a row of a roll-up), for events, metrics and callbacks. */
export interface StatusChange {
  messageId: string;
  accountId: string;
  status: MessageStatus;
  reason: string | null;
  errorCode: string | null;
  /** A status callback was queued for it. */
  callback: boolean;
  /** A final status of a message the SMSC took: seconds from its acceptance (sent) to now. */
  sentToFinalSeconds?: number | undefined;
  /** The sending number's type (for metrics by number type). */
  numberType?: NumberType | undefined;
}

/** Message status changes of one write. */
export interface RollupResult {
  changes: StatusChange[];
}

export const emptyRollup = (): RollupResult => ({ changes: [] });
