/**
 * Answers to PDUs whose framing is intact but whose body cannot be read (Cloudhopper's
 * "recoverable PDU error"): the request gets an error status in its own response (deliver_sm,
 * data_sm) or a generic_nack, and the session goes on; the frame is kept for the operator.
 */
import { SmppProtocolError } from '../errors/app-error.ts';
import { STATUS } from './command-status.ts';
import { encodeInboundResp } from './fast-codec.ts';
import { COMMAND_ID, encodeHeaderOnly } from './pdu-codec.ts';
import type { RejectedPdu } from './session-types.ts';

/**
 * How to answer an undecodable request of `commandId`: its response id (data_sm → data_sm_resp,
 * anything else → generic_nack), or undefined for a response (late or stray: dropped).
 */
export function rejectionResponseId(commandId: number): number | undefined {
  if (commandId & 0x80000000) return undefined;
  return commandId === COMMAND_ID.data_sm ? COMMAND_ID.data_sm_resp : COMMAND_ID.generic_nack;
}

/** The error answer to `frame` (the decoder's command_status, else ESME_RINVCMDLEN) and its report. */
export function rejectPdu(
  frame: Buffer,
  respId: number,
  err: unknown,
): { answer: Buffer; report: RejectedPdu } {
  const seq = frame.readUInt32BE(12);
  const status =
    err instanceof SmppProtocolError && err.commandStatus !== undefined
      ? err.commandStatus
      : STATUS.ESME_RINVCMDLEN;
  return {
    answer:
      respId === COMMAND_ID.generic_nack
        ? encodeHeaderOnly(COMMAND_ID.generic_nack, status, seq)
        : encodeInboundResp(respId, seq, status),
    report: {
      commandId: frame.readUInt32BE(4),
      sequenceNumber: seq,
      answeredStatus: status,
      reason: err instanceof Error ? err.message : String(err),
      frame: Buffer.from(frame),
    },
  };
}
