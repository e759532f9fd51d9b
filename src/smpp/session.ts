import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { AppError, SmppBindError, SmppProtocolError } from '../errors/app-error.ts';
import type { Logger } from '../logger.ts';
import type { CoalescingWriter } from './coalescing-writer.ts';
import { STATUS, statusName } from './command-status.ts';
import { encodeBind, openTransport } from './connect.ts';
import { decodeDeliverSm, decodeSubmitSmRespId, encodeInboundResp, encodeSubmitSm } from './fast-codec.ts';
import { PduFramer } from './framer.ts';
import type { InboundPdu } from './inbound.ts';
import { InboundFlow } from './inbound-flow.ts';
import { LinkLiveness } from './liveness.ts';
import {
  COMMAND_ID,
  decodePdu,
  encodeHeaderOnly,
  encodePdu,
  inboundFromFields,
  MAX_PDU_LENGTH,
  type Pdu,
} from './pdu-codec.ts';
import { rejectionResponseId, rejectPdu } from './pdu-rejection.ts';
import { SendWindow } from './send-window.ts';
import type { SessionHandlers, SessionOptions, SubmitFields, SubmitResponse } from './session-types.ts';
import { SessionWaiters } from './session-waiters.ts';

type State = 'connecting' | 'binding' | 'bound' | 'unbinding' | 'closed';
type SubmitCallback = (r: SubmitResponse) => void;

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
  private writer: CoalescingWriter | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private readonly liveness: LinkLiveness;
  private readonly inbound: InboundFlow;
  private bindSeq = 0;
  private readonly waiters = new SessionWaiters();
  /** Counters for metrics and tests. */
  readonly counters = {
    lateResponses: 0,
    nacks: 0,
    protocolErrors: 0,
    rejectedPdus: 0,
    enquireSent: 0,
    inbound: 0,
    pauses: 0,
  };

  constructor(
    private readonly opts: SessionOptions,
    private readonly handlers: SessionHandlers,
    private readonly log: Logger,
  ) {
    this.window = new SendWindow(opts.windowSize, opts.responseTimeoutMs);
    this.inbound = new InboundFlow(opts.maxPendingInbound ?? Number.POSITIVE_INFINITY, {
      pause: () => this.socket?.pause(),
      resume: () => this.socket?.resume(),
    });
    this.liveness = new LinkLiveness({
      intervalMs: opts.enquireLinkIntervalMs,
      timeoutMs: opts.enquireLinkTimeoutMs ?? opts.responseTimeoutMs,
      maxMissed: opts.enquireLinkMaxMissed,
      healthyMs: opts.responseTimeoutMs,
    });
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

  /** Inbound PDUs read and not yet answered (bounded by maxPendingInbound). */
  get pendingInbound(): number {
    return this.inbound.pending;
  }

  /**
   * Bound and answering: false while an enquire_link has gone unanswered longer than the response
   * timeout (a link that died silently), before it is declared dead and closed.
   */
  get healthy(): boolean {
    return this.state === 'bound' && this.liveness.healthy(Date.now());
  }

  /** True when a submit can be written now without exceeding the window or socket buffer. */
  canSubmit(): boolean {
    if (this.state !== 'bound' || this.opts.bindMode === 'rx' || this.window.free === 0) return false;
    if (this.liveness.missing) return false;
    return !this.writer?.full;
  }

  /**
   * Connects and binds. Rejects with SmppBindError when the SMSC refuses the credentials, or an
   * AppError (action `rebind`) on connect/bind timeout or a dropped connection; the session is
   * closed in every failure case.
   */
  open(): Promise<void> {
    const bound = this.waiters.waitBind(this.opts.connectTimeoutMs + this.opts.bindTimeoutMs, () =>
      this.close('bind timeout', new AppError('SMPP_BIND_TIMEOUT', 'no bind response in time')),
    );
    const t = openTransport(this.opts, {
      connected: () => this.sendBind(),
      data: (chunk) => this.onData(chunk),
      writable: () => {
        if (this.state === 'bound') this.handlers.onWritable();
      },
      error: (err) => this.close(`socket error: ${err.message}`, err),
      closed: () => this.close('connection closed by peer'),
    });
    this.socket = t.socket;
    this.writer = t.writer;
    return bound;
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
    let buf: Buffer;
    try {
      buf = encodeSubmitSm(seq, f);
    } catch (err) {
      // Our own fields could not be encoded: a request problem, not a session problem.
      this.log.error({ err }, 'submit_sm encode failed');
      cb({ kind: 'nack', status: STATUS.ESME_RINVMSGLEN });
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
    const done = this.waiters.waitUnbind(timeoutMs);
    this.write(encodePdu('unbind', this.nextSeq()));
    await done;
    this.close('unbound');
  }

  /** Destroys the socket and answers everything outstanding. Idempotent. */
  close(reason: string, error?: Error): void {
    if (this.state === 'closed') return;
    const wasBinding = this.state === 'connecting' || this.state === 'binding';
    this.state = 'closed';
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.writer?.close();
    this.socket?.destroy();
    for (const e of this.window.drain()) e.ctx({ kind: 'closed', reason });
    this.waiters.closed(reason, error);
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
    this.write(encodeBind(this.opts, this.bindSeq));
  }

  private write(buf: Buffer): void {
    if (this.state !== 'closed') this.writer?.write(buf);
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
      try {
        this.onFrame(frame);
      } catch (err) {
        this.counters.protocolErrors++;
        this.close('protocol error', err instanceof Error ? err : new SmppProtocolError(String(err)));
        return;
      }
    }
  }

  /** The hot PDUs take hand-written paths; everything else goes through the library decoder. */
  private onFrame(frame: Buffer): void {
    const commandId = frame.readUInt32BE(4);
    const status = frame.readUInt32BE(8);
    const seq = frame.readUInt32BE(12);
    switch (commandId) {
      case COMMAND_ID.submit_sm_resp: {
        const e = this.window.complete(seq);
        if (!e) {
          this.counters.lateResponses++;
          return;
        }
        this.handlers.onSubmitResponse?.(performance.now() - e.sentAt, status);
        e.ctx({ kind: 'resp', status, messageId: status === 0 ? decodeSubmitSmRespId(frame) : '' });
        this.afterResponse();
        return;
      }
      case COMMAND_ID.deliver_sm: {
        let pdu: InboundPdu;
        try {
          pdu = decodeDeliverSm(frame);
        } catch (err) {
          this.reject(frame, COMMAND_ID.deliver_sm_resp, err);
          return;
        }
        this.onInbound(pdu, seq, COMMAND_ID.deliver_sm_resp);
        return;
      }
      case COMMAND_ID.enquire_link:
        this.write(encodeHeaderOnly(COMMAND_ID.enquire_link_resp, 0, seq));
        return;
      case COMMAND_ID.enquire_link_resp:
        // A late answer makes the bind healthy again: let queued submits go.
        if (this.liveness.answered(seq) && this.state === 'bound') this.handlers.onWritable();
        return;
      default: {
        let pdu: Pdu;
        try {
          pdu = decodePdu(frame);
        } catch (err) {
          this.onUndecodable(frame, commandId, seq, err);
          return;
        }
        this.dispatch(pdu);
      }
    }
  }

  /**
   * A frame whose body the library cannot read. Framing is intact, so the stream can go on:
   * requests get an error answer, late or stray responses are dropped. Only a broken answer to
   * our own bind ends the session (there is no session to keep).
   */
  private onUndecodable(frame: Buffer, commandId: number, seq: number, err: unknown): void {
    if (this.state === 'binding' && seq === this.bindSeq) throw err;
    const respId = rejectionResponseId(commandId);
    if (respId === undefined) this.counters.lateResponses++;
    else this.reject(frame, respId, err);
  }

  private reject(frame: Buffer, respId: number, err: unknown): void {
    const { answer, report } = rejectPdu(frame, respId, err);
    this.counters.rejectedPdus++;
    this.write(answer);
    this.handlers.onRejected?.(report);
  }

  private dispatch(pdu: Pdu): void {
    switch (pdu.commandId) {
      case COMMAND_ID.data_sm:
        this.onInbound(inboundFromFields(pdu.fields), pdu.sequenceNumber, COMMAND_ID.data_sm_resp);
        return;
      case COMMAND_ID.generic_nack: {
        this.counters.nacks++;
        const e = this.window.complete(pdu.sequenceNumber);
        if (e) {
          e.ctx({ kind: 'nack', status: pdu.commandStatus });
          this.afterResponse();
        } else if (this.liveness.isProbe(pdu.sequenceNumber)) {
          // A nack still proves the link is alive.
          this.liveness.answered(pdu.sequenceNumber);
        } else if (pdu.sequenceNumber === this.bindSeq && this.state === 'binding') {
          this.close(
            'bind rejected',
            new SmppBindError(`bind nacked: ${statusName(pdu.commandStatus)}`, pdu.commandStatus),
          );
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
        this.waiters.unbound();
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
    if (pdu.commandStatus !== 0) {
      this.close(
        'bind rejected',
        new SmppBindError(`SMSC rejected bind: ${statusName(pdu.commandStatus)}`, pdu.commandStatus),
      );
      return;
    }
    this.state = 'bound';
    this.liveness.start(Date.now());
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.ticker.unref();
    this.waiters.bound();
    this.handlers.onWritable();
  }

  /**
   * Hands an inbound PDU on; it is answered when the handler has stored it. While too many are
   * unanswered the socket is not read, so an SMSC flooding us waits in TCP instead of in our heap.
   */
  private onInbound(inbound: InboundPdu, seq: number, respId: number): void {
    this.counters.inbound++;
    // write() drops the answer once the session is gone; the place is released either way.
    const { answer, paused } = this.inbound.admit((status) =>
      this.write(encodeInboundResp(respId, seq, status)),
    );
    if (paused) this.counters.pauses++;
    this.handlers.onInbound(inbound, answer);
  }

  private tick(): void {
    if (this.state !== 'bound') return;
    const now = Date.now();
    const expired = this.window.expire(performance.now());
    for (const e of expired) e.ctx({ kind: 'timeout' });
    if (expired.length > 0) this.handlers.onWritable();
    const next = this.liveness.tick(now);
    if (next === 'dead') {
      this.close(
        'link dead: enquire_link unanswered',
        new AppError('SMPP_LINK_DEAD', `${this.liveness.missedCount} enquire_link responses missed`),
      );
    } else if (next === 'send') {
      const seq = this.nextSeq();
      this.liveness.sent(seq, now);
      this.counters.enquireSent++;
      this.write(encodeHeaderOnly(COMMAND_ID.enquire_link, 0, seq));
    }
  }
}
