import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { AppError, SmppBindError, SmppProtocolError } from '../errors/app-error.ts';
import type { Logger } from '../logger.ts';
import { STATUS, statusName } from './command-status.ts';
import type { InboundPdu } from './inbound.ts';
import { COMMAND_ID, MAX_PDU_LENGTH, type Pdu, decodePdu, encodeHeaderOnly, encodePdu } from './pdu-codec.ts';
import { PduFramer } from './framer.ts';
import { SendWindow } from './send-window.ts';

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
  connectTimeoutMs: number;
  bindTimeoutMs: number;
  /** Bytes queued in the socket above which we stop sending until it drains. */
  writeHighWaterMark: number;
}

/** What the SMSC (or its absence) said about one submit. */
export type SubmitResponse =
  | { kind: 'resp'; status: number; messageId: string }
  | { kind: 'nack'; status: number }
  | { kind: 'timeout' }
  | { kind: 'closed'; reason: string };

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
  /** submit_sm → submit_sm_resp time in ms, for latency histograms. */
  onSubmitLatency?(ms: number): void;
}

type State = 'connecting' | 'binding' | 'bound' | 'unbinding' | 'closed';
type SubmitCallback = (r: SubmitResponse) => void;

const BIND_COMMAND: Record<BindMode, string> = { trx: 'bind_transceiver', tx: 'bind_transmitter', rx: 'bind_receiver' };
const TICK_MS = 50;

/**
 * One SMPP connection from connect to close; it never reconnects (CarrierBind does).
 * All sends go through the send window (cap + response deadline); writes of one tick are
 * coalesced into one socket write. Any protocol error destroys the session: a stream that has
 * lost framing cannot be trusted again.
 */
export class SmppSession {
  private state: State = 'connecting';
  private socket: net.Socket | undefined;
  private readonly framer = new PduFramer(MAX_PDU_LENGTH);
  private readonly window: SendWindow<SubmitCallback>;
  private seq = 0;
  private outbox: Buffer[] = [];
  private flushScheduled = false;
  private congested = false;
  private ticker: NodeJS.Timeout | undefined;
  private enquireSeq: number | undefined;
  private enquireMissed = 0;
  private lastEnquireAt = 0;
  private bindSeq = 0;
  private unbindSeq = 0;
  private bindWaiter: { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private unbindWaiter: (() => void) | undefined;
  /** Counters for metrics and tests. */
  readonly counters = { lateResponses: 0, nacks: 0, protocolErrors: 0, enquireSent: 0, inbound: 0 };

  constructor(
    private readonly opts: SessionOptions,
    private readonly handlers: SessionHandlers,
    private readonly log: Logger,
  ) {
    this.window = new SendWindow(opts.windowSize, opts.responseTimeoutMs);
  }

  get isBound(): boolean {
    return this.state === 'bound';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  get inFlight(): number {
    return this.window.size;
  }

  get windowCapacity(): number {
    return this.window.capacity;
  }

  /** True when a submit can be written now without exceeding the window or socket buffer. */
  canSubmit(): boolean {
    return this.state === 'bound' && this.opts.bindMode !== 'rx' && !this.congested && this.window.free > 0;
  }

  setWindowCapacity(n: number): void {
    this.window.setCapacity(n);
  }

  /**
   * Connects and binds. Rejects with SmppBindError when the SMSC refuses the credentials, or an
   * AppError (action `rebind`) on connect/bind timeout or a dropped connection; the session is
   * closed in every failure case.
   */
  open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => this.close('bind timeout', new AppError('SMPP_BIND_TIMEOUT', 'no bind response in time', { action: 'rebind' })),
        this.opts.connectTimeoutMs + this.opts.bindTimeoutMs,
      );
      this.bindWaiter = { resolve, reject, timer };
      const { host, port } = this.opts;
      const socket = this.opts.tls
        ? tls.connect({ host, port, ...(typeof this.opts.tls === 'object' ? this.opts.tls : {}) })
        : net.connect({ host, port });
      this.socket = socket;
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      socket.on(this.opts.tls ? 'secureConnect' : 'connect', () => this.sendBind());
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.on('drain', () => {
        this.congested = false;
        this.handlers.onWritable();
      });
      socket.on('error', (err) => this.close(`socket error: ${err.message}`, err));
      socket.on('close', () => this.close('connection closed by peer'));
    });
  }

  /**
   * Writes one submit_sm through the window. The callback is called exactly once, with the
   * response, a generic_nack, `timeout` after responseTimeoutMs, or `closed`. Call only when
   * `canSubmit()`; otherwise the callback gets `closed` at once (never throws, never hangs).
   */
  submit(f: SubmitFields, cb: SubmitCallback): void {
    if (!this.canSubmit()) {
      cb({ kind: 'closed', reason: this.state === 'bound' ? 'window full' : `session ${this.state}` });
      return;
    }
    const seq = this.nextSeq();
    const fields: Record<string, unknown> = {
      service_type: f.serviceType,
      source_addr_ton: f.sourceAddrTon,
      source_addr_npi: f.sourceAddrNpi,
      source_addr: f.sourceAddr,
      dest_addr_ton: f.destAddrTon,
      dest_addr_npi: f.destAddrNpi,
      destination_addr: f.destinationAddr,
      esm_class: f.esmClass,
      protocol_id: f.protocolId,
      priority_flag: f.priorityFlag,
      validity_period: f.validityPeriod,
      registered_delivery: f.registeredDelivery,
      data_coding: f.dataCoding,
      short_message: f.shortMessage,
    };
    if (f.messagePayload) fields.message_payload = f.messagePayload;
    let buf: Buffer;
    try {
      buf = encodePdu('submit_sm', seq, fields);
    } catch (err) {
      // Our own fields could not be encoded: a request problem, not a session problem.
      cb({ kind: 'nack', status: STATUS.ESME_RINVCMDLEN });
      this.log.error({ err }, 'submit_sm encode failed');
      return;
    }
    this.window.add(seq, cb, performance.now());
    this.write(buf);
  }

  /**
   * Unbinds politely: sends unbind, waits up to `timeoutMs` for unbind_resp, then closes.
   * Outstanding submits are answered `closed` (retryable); callers drain the window first.
   */
  async unbind(timeoutMs = 2_000): Promise<void> {
    if (this.state !== 'bound') {
      this.close('unbind requested');
      return;
    }
    this.state = 'unbinding';
    this.unbindSeq = this.nextSeq();
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.unbindWaiter = () => {
        clearTimeout(t);
        resolve();
      };
      this.write(encodePdu('unbind', this.unbindSeq));
    });
    this.close('unbound');
  }

  /** Destroys the socket and answers everything outstanding. Idempotent. */
  close(reason: string, error?: Error): void {
    if (this.state === 'closed') return;
    const wasBinding = this.state === 'connecting' || this.state === 'binding';
    this.state = 'closed';
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.outbox = [];
    this.socket?.destroy();
    for (const e of this.window.drain()) e.ctx({ kind: 'closed', reason });
    if (this.bindWaiter) {
      clearTimeout(this.bindWaiter.timer);
      const w = this.bindWaiter;
      this.bindWaiter = undefined;
      w.reject(error ?? new AppError('SMPP_BIND_FAILED', reason, { action: 'rebind' }));
    }
    this.unbindWaiter?.();
    this.unbindWaiter = undefined;
    if (!wasBinding || error) this.log.info({ reason, err: error?.message }, 'smpp session closed');
    this.handlers.onClose(reason, error);
  }

  private nextSeq(): number {
    this.seq = this.seq >= 0x7fffffff ? 1 : this.seq + 1;
    return this.seq;
  }

  private sendBind(): void {
    if (this.state !== 'connecting') return;
    this.state = 'binding';
    this.bindSeq = this.nextSeq();
    this.write(
      encodePdu(BIND_COMMAND[this.opts.bindMode], this.bindSeq, {
        system_id: this.opts.systemId,
        password: this.opts.password,
        system_type: this.opts.systemType,
        interface_version: this.opts.interfaceVersion,
        addr_ton: this.opts.addrTon,
        addr_npi: this.opts.addrNpi,
        address_range: this.opts.addressRange,
      }),
    );
  }

  private write(buf: Buffer): void {
    if (this.state === 'closed') return;
    this.outbox.push(buf);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const socket = this.socket;
    if (!socket || this.state === 'closed' || this.outbox.length === 0) return;
    const data = this.outbox.length === 1 ? this.outbox[0]! : Buffer.concat(this.outbox);
    this.outbox = [];
    const ok = socket.write(data);
    if (!ok || socket.writableLength > this.opts.writeHighWaterMark) this.congested = true;
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.framer.push(chunk);
    } catch (err) {
      this.counters.protocolErrors++;
      this.close('protocol error', err as Error);
      return;
    }
    for (const frame of frames) {
      if (this.state === 'closed') return;
      let pdu: Pdu;
      try {
        pdu = decodePdu(frame);
      } catch (err) {
        this.counters.protocolErrors++;
        this.close('protocol error', err as Error);
        return;
      }
      try {
        this.dispatch(pdu);
      } catch (err) {
        this.counters.protocolErrors++;
        this.close('error handling PDU', err instanceof Error ? err : new SmppProtocolError(String(err)));
        return;
      }
    }
  }

  private dispatch(pdu: Pdu): void {
    switch (pdu.commandId) {
      case COMMAND_ID.submit_sm_resp: {
        const e = this.window.complete(pdu.sequenceNumber);
        if (!e) {
          this.counters.lateResponses++;
          return;
        }
        this.handlers.onSubmitLatency?.(performance.now() - e.sentAt);
        e.ctx({ kind: 'resp', status: pdu.commandStatus, messageId: String(pdu.fields.message_id ?? '') });
        this.afterResponse();
        return;
      }
      case COMMAND_ID.deliver_sm:
      case COMMAND_ID.data_sm:
        this.onInbound(pdu);
        return;
      case COMMAND_ID.enquire_link:
        this.write(encodeHeaderOnly(COMMAND_ID.enquire_link_resp, 0, pdu.sequenceNumber));
        return;
      case COMMAND_ID.enquire_link_resp:
        if (pdu.sequenceNumber === this.enquireSeq) this.enquireSeq = undefined;
        this.enquireMissed = 0;
        return;
      case COMMAND_ID.generic_nack: {
        this.counters.nacks++;
        const e = this.window.complete(pdu.sequenceNumber);
        if (e) {
          e.ctx({ kind: 'nack', status: pdu.commandStatus });
          this.afterResponse();
        } else if (pdu.sequenceNumber === this.enquireSeq) {
          // A nack still proves the link is alive.
          this.enquireSeq = undefined;
          this.enquireMissed = 0;
        } else if (pdu.sequenceNumber === this.bindSeq && this.state === 'binding') {
          this.close('bind rejected', new SmppBindError(`bind nacked: ${statusName(pdu.commandStatus)}`, pdu.commandStatus));
        }
        return;
      }
      case COMMAND_ID.bind_transceiver_resp:
      case COMMAND_ID.bind_transmitter_resp:
      case COMMAND_ID.bind_receiver_resp:
        this.onBindResp(pdu);
        return;
      case COMMAND_ID.unbind:
        this.write(encodeHeaderOnly(COMMAND_ID.unbind_resp, 0, pdu.sequenceNumber));
        this.state = 'unbinding';
        // Let the unbind_resp leave before the socket goes.
        setImmediate(() => this.close('unbound by SMSC'));
        return;
      case COMMAND_ID.unbind_resp:
        this.unbindWaiter?.();
        return;
      default:
        if (pdu.commandId & 0x80000000) {
          this.counters.lateResponses++;
          return;
        }
        if (pdu.commandId === 0x00000102) return; // alert_notification has no response
        this.write(encodeHeaderOnly(COMMAND_ID.generic_nack, STATUS.ESME_RINVCMDID, pdu.sequenceNumber));
    }
  }

  private afterResponse(): void {
    if (this.window.free === 1 || this.window.size === 0) this.handlers.onWritable();
  }

  private onBindResp(pdu: Pdu): void {
    if (this.state !== 'binding' || pdu.sequenceNumber !== this.bindSeq) return;
    const w = this.bindWaiter;
    if (pdu.commandStatus !== 0) {
      this.close(
        'bind rejected',
        new SmppBindError(`SMSC rejected bind: ${statusName(pdu.commandStatus)}`, pdu.commandStatus),
      );
      return;
    }
    this.state = 'bound';
    this.bindWaiter = undefined;
    if (w) clearTimeout(w.timer);
    this.lastEnquireAt = Date.now();
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.ticker.unref();
    w?.resolve();
    this.handlers.onWritable();
  }

  private onInbound(pdu: Pdu): void {
    this.counters.inbound++;
    const f = pdu.fields;
    const isData = pdu.commandId === COMMAND_ID.data_sm;
    const inbound: InboundPdu = {
      sourceAddr: String(f.source_addr ?? ''),
      sourceAddrTon: Number(f.source_addr_ton ?? 0),
      destinationAddr: String(f.destination_addr ?? ''),
      destAddrTon: Number(f.dest_addr_ton ?? 0),
      esmClass: Number(f.esm_class ?? 0),
      dataCoding: Number(f.data_coding ?? 0),
      shortMessage: Buffer.isBuffer(f.short_message) ? f.short_message : Buffer.alloc(0),
      messagePayload: Buffer.isBuffer(f.message_payload) ? f.message_payload : undefined,
      receiptedMessageId: typeof f.receipted_message_id === 'string' ? f.receipted_message_id : undefined,
      messageState: typeof f.message_state === 'number' ? f.message_state : undefined,
      networkErrorCode: Buffer.isBuffer(f.network_error_code) ? f.network_error_code : undefined,
      sarMsgRefNum: typeof f.sar_msg_ref_num === 'number' ? f.sar_msg_ref_num : undefined,
      sarTotalSegments: typeof f.sar_total_segments === 'number' ? f.sar_total_segments : undefined,
      sarSegmentSeqnum: typeof f.sar_segment_seqnum === 'number' ? f.sar_segment_seqnum : undefined,
    };
    const seq = pdu.sequenceNumber;
    let answered = false;
    this.handlers.onInbound(inbound, (status) => {
      if (answered || this.state === 'closed') return;
      answered = true;
      if (status === 0) {
        this.write(encodePdu(isData ? 'data_sm_resp' : 'deliver_sm_resp', seq, { message_id: '' }));
      } else {
        this.write(encodeHeaderOnly(isData ? COMMAND_ID.data_sm_resp : COMMAND_ID.deliver_sm_resp, status, seq));
      }
    });
  }

  private tick(): void {
    if (this.state !== 'bound') return;
    const now = Date.now();
    const expired = this.window.expire(performance.now());
    for (const e of expired) e.ctx({ kind: 'timeout' });
    if (expired.length > 0) this.handlers.onWritable();
    if (now - this.lastEnquireAt >= this.opts.enquireLinkIntervalMs) {
      this.lastEnquireAt = now;
      if (this.enquireSeq !== undefined) {
        this.enquireMissed++;
        if (this.enquireMissed >= this.opts.enquireLinkMaxMissed) {
          this.close(
            'link dead: enquire_link unanswered',
            new AppError('SMPP_LINK_DEAD', `${this.enquireMissed} enquire_link responses missed`, { action: 'rebind' }),
          );
          return;
        }
      }
      this.enquireSeq = this.nextSeq();
      this.counters.enquireSent++;
      this.write(encodeHeaderOnly(COMMAND_ID.enquire_link, 0, this.enquireSeq));
    }
  }
}
