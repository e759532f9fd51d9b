/**
 * How a submit_sm_resp command_status should be handled (SMPP 3.4 §5.1.3): `throttle` is about
 * the bind's pace, `queue-full` about one destination's queue at the SMSC (retry that message
 * later, leave the bind alone).
 */
export type StatusClass = 'ok' | 'throttle' | 'queue-full' | 'temporary' | 'rebind' | 'permanent';

export const STATUS = {
  ESME_ROK: 0x00,
  ESME_RINVMSGLEN: 0x01,
  ESME_RINVCMDLEN: 0x02,
  ESME_RINVCMDID: 0x03,
  ESME_RINVBNDSTS: 0x04,
  ESME_RALYBND: 0x05,
  ESME_RSYSERR: 0x08,
  ESME_RINVSRCADR: 0x0a,
  ESME_RINVDSTADR: 0x0b,
  ESME_RBINDFAIL: 0x0d,
  ESME_RINVPASWD: 0x0e,
  ESME_RINVSYSID: 0x0f,
  ESME_RMSGQFUL: 0x14,
  ESME_RSUBMITFAIL: 0x45,
  ESME_RTHROTTLED: 0x58,
  ESME_RX_T_APPN: 0x64,
  ESME_RX_P_APPN: 0x65,
  ESME_RX_R_APPN: 0x66,
  ESME_RINVOPTPARSTREAM: 0xc0,
  ESME_ROPTPARNOTALLWD: 0xc1,
  ESME_RINVPARLEN: 0xc2,
  ESME_RMISSINGOPTPARAM: 0xc3,
  ESME_RINVOPTPARAMVAL: 0xc4,
  ESME_RDELIVERYFAILURE: 0xfe,
  ESME_RUNKNOWNERR: 0xff,
} as const;

const NAMES = new Map<number, string>(Object.entries(STATUS).map(([k, v]) => [v, k]));

/** A command_status as a metric label: its SMPP 3.4 name, or `other` (an SMSC may answer any value). */
export function statusLabel(status: number): string {
  return NAMES.get(status) ?? 'other';
}

/** Name of a command_status for logs and stored failure reasons, e.g. `ESME_RTHROTTLED` or `0x00000401`. */
export function statusName(status: number): string {
  return NAMES.get(status) ?? `0x${status.toString(16).padStart(8, '0')}`;
}

/**
 * Classifies a submit_sm_resp status. Throttling slows the bind and retries; temporary errors are
 * retried with backoff; bind-state errors mean the session is unusable; everything else is a
 * permanent failure whose code is kept for the message.
 */
export function classifyStatus(status: number): StatusClass {
  switch (status) {
    case STATUS.ESME_ROK:
      return 'ok';
    case STATUS.ESME_RTHROTTLED:
      return 'throttle';
    case STATUS.ESME_RMSGQFUL:
      return 'queue-full';
    case STATUS.ESME_RSYSERR:
    case STATUS.ESME_RX_T_APPN:
    case STATUS.ESME_RDELIVERYFAILURE:
    case STATUS.ESME_RUNKNOWNERR:
      return 'temporary';
    case STATUS.ESME_RINVBNDSTS:
      return 'rebind';
    default:
      return 'permanent';
  }
}
