import type tls from 'node:tls';
import type { InboundPdu } from './inbound.ts';

export type BindMode = 'trx' | 'tx' | 'rx';

export interface SessionOptions {
  host: string;
  port: number;
  /** TLS to the SMSC; `true` for defaults or node TLS options. */
  tls?: boolean | tls.ConnectionOptions;
  systemId: string;
  password: string;
  systemType: string;
  bindMode: BindMode;
  interfaceVersion: number;
  addrTon: number;
  addrNpi: number;
  addressRange: string;
  windowSize: number;
  responseTimeoutMs: number;
  enquireLinkIntervalMs: number;
  /** Missed enquire_link responses in a row that declare the link dead. */
  enquireLinkMaxMissed: number;
  /** An enquire_link unanswered this long counts as missed. */
  enquireLinkTimeoutMs?: number;
  connectTimeoutMs: number;
  bindTimeoutMs: number;
  /** Bytes queued in the socket above which we stop sending until it drains. */
  writeHighWaterMark: number;
  /** Inbound PDUs handed on but not yet answered above which the socket is not read (backpressure). */
  maxPendingInbound?: number;
}

/** A PDU whose frame was intact but whose body we could not read: answered with an error, session kept. */
export interface RejectedPdu {
  commandId: number;
  sequenceNumber: number;
  /** The command_status we answered with (in the resp, or in a generic_nack). */
  answeredStatus: number;
  reason: string;
  frame: Buffer;
}

/** What the SMSC (or its absence) said about one submit. */
export type SubmitResponse =
  | { kind: 'resp'; status: number; messageId: string }
  | { kind: 'nack'; status: number }
  | { kind: 'timeout' }
  | { kind: 'closed'; reason: string };

/** submit_sm fields we set; addresses must be Latin-1 (E.164 digits in practice). */
export interface SubmitFields {
  serviceType: string;
  sourceAddr: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  destinationAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  esmClass: number;
  protocolId: number;
  priorityFlag: number;
  validityPeriod: string;
  registeredDelivery: number;
  dataCoding: number;
  shortMessage: Buffer;
  messagePayload?: Buffer | undefined;
}

export interface SessionHandlers {
  /** A deliver_sm/data_sm arrived; call `respond` once with the command_status to answer. */
  onInbound(pdu: InboundPdu, respond: (status: number) => void): void;
  /** The window has room again or the socket drained: more submits may go. */
  onWritable(): void;
  /** The session ended; every outstanding submit has already been answered `closed`. */
  onClose(reason: string, error: Error | undefined): void;
  /** A submit_sm_resp: the time since the submit_sm in ms (latency histograms), and its command_status. */
  onSubmitResponse?(ms: number, commandStatus: number): void;
  /** A malformed PDU was answered with an error; the session goes on. */
  onRejected?(pdu: RejectedPdu): void;
}
