import type net from 'node:net';
import { decodeSubmitSm } from './fast-pdu.ts';
import { CMD, decode, ERR, encode, Framer, header, submitResp } from './pdu.ts';
import type { SmscCore } from './smsc-core.ts';

export type BindKind = 'tx' | 'rx' | 'trx';

const BIND_KIND: Record<number, BindKind> = {
  [CMD.bind_transmitter]: 'tx',
  [CMD.bind_receiver]: 'rx',
  [CMD.bind_transceiver]: 'trx',
};

/** One ESME connection to the simulator: bind state, window of replies, fault injection per submit. */
export class EsmeConnection {
  kind: BindKind | undefined;
  systemId = '';
  private readonly framer = new Framer();
  private outbox: Buffer[] = [];
  private flushing = false;
  private seq = 0;
  private submitsHere = 0;
  private second = 0;
  private inSecond = 0;
  private queueFullLeft = 0;
  private replies: Buffer[] | undefined;
  closed = false;
  /** deliver_sm written and not yet acknowledged, by sequence number. */
  readonly unacked = new Map<number, Buffer>();

  constructor(
    readonly socket: net.Socket,
    private readonly core: SmscCore,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  get canReceive(): boolean {
    return !this.closed && (this.kind === 'rx' || this.kind === 'trx');
  }

  /** Queues bytes; all writes of one tick leave in one socket write. */
  write(b: Buffer): void {
    if (this.closed) return;
    this.outbox.push(b);
    if (!this.flushing) {
      this.flushing = true;
      process.nextTick(() => {
        this.flushing = false;
        if (this.closed || this.outbox.length === 0) return;
        const data = this.outbox.length === 1 ? this.outbox[0]! : Buffer.concat(this.outbox);
        this.outbox = [];
        this.socket.write(data);
      });
    }
  }

  nextSeq(): number {
    this.seq = this.seq >= 0x7fffffff ? 1 : this.seq + 1;
    return this.seq;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.outbox = [];
    this.socket.destroy();
    this.core.onClosed(this);
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.framer.push(chunk);
    } catch {
      // A length we cannot trust: say so once, then hang up (we cannot find the next PDU).
      this.core.stats.malformed++;
      this.socket.end(header(CMD.generic_nack, ERR.RINVCMDLEN, 0));
      this.closed = true;
      this.core.onClosed(this);
      return;
    }
    this.replies = [];
    for (const f of frames) {
      if (this.closed) break;
      this.onFrame(f);
    }
    const replies = this.replies;
    this.replies = undefined;
    if (this.core.scenario.faults.outOfOrderResponses) replies.reverse();
    for (const r of replies) this.write(r);
  }

  private reply(b: Buffer): void {
    if (this.replies) this.replies.push(b);
    else this.write(b);
  }

  private onFrame(frame: Buffer): void {
    const commandId = frame.readUInt32BE(4);
    const seq = frame.readUInt32BE(12);
    if (commandId === CMD.submit_sm) {
      let view: ReturnType<typeof decodeSubmitSm>;
      try {
        view = decodeSubmitSm(frame);
      } catch {
        this.core.stats.malformed++;
        this.reply(submitResp(seq, '', ERR.RINVMSGLEN));
        return;
      }
      this.onSubmit(view, seq);
      return;
    }
    if (commandId === CMD.deliver_sm_resp) {
      this.core.onDeliverResp(this, frame.readUInt32BE(8), seq);
      return;
    }
    let pdu: ReturnType<typeof decode>;
    try {
      pdu = decode(frame);
    } catch {
      this.core.stats.malformed++;
      this.reply(header(CMD.generic_nack, ERR.RINVCMDLEN, seq));
      return;
    }
    if (pdu.command === 'unknown') {
      this.core.stats.unknownCommands++;
      this.reply(header(CMD.generic_nack, ERR.RINVCMDID, seq));
      return;
    }
    const kind = BIND_KIND[commandId];
    if (kind) {
      this.onBind(kind, pdu, seq);
      return;
    }
    switch (commandId) {
      case CMD.enquire_link:
        this.core.stats.enquireLinks++;
        if (this.core.scenario.faults.ignoreEnquireLink) {
          this.core.stats.enquireIgnored++;
          return;
        }
        this.reply(header(CMD.enquire_link_resp, 0, seq));
        return;
      case CMD.unbind:
        this.reply(header(CMD.unbind_resp, 0, seq));
        this.kind = undefined;
        setImmediate(() => this.close());
        return;
      case CMD.unbind_resp:
        this.kind = undefined;
        this.close();
        return;
      case CMD.enquire_link_resp:
      case CMD.generic_nack:
        return;
      default:
        if (commandId & 0x80000000) return;
        this.core.stats.unknownCommands++;
        this.reply(header(CMD.generic_nack, ERR.RINVCMDID, seq));
    }
  }

  private onBind(kind: BindKind, pdu: ReturnType<typeof decode>, seq: number): void {
    const respId = (pdu.command_id | 0x80000000) >>> 0;
    if (this.kind) {
      this.reply(header(respId, ERR.RALYBND, seq));
      return;
    }
    const systemId = String(pdu.system_id ?? '');
    const status = this.core.checkCredentials(systemId, String(pdu.password ?? ''));
    const command = `${pdu.command}_resp`;
    if (status !== 0) {
      this.core.stats.bindFailures++;
      this.reply(header(respId, status, seq));
      return;
    }
    this.kind = kind;
    this.systemId = systemId;
    this.reply(encode(command, seq, { system_id: 'PARLEYSIM' }));
    this.core.onBound(this);
  }

  private onSubmit(pdu: ReturnType<typeof decodeSubmitSm>, seq: number): void {
    const core = this.core;
    const f = core.scenario.faults;
    core.stats.submits++;
    if (this.kind !== 'tx' && this.kind !== 'trx') {
      this.reply(submitResp(seq, '', ERR.RINVBNDSTS));
      return;
    }
    this.submitsHere++;
    if (
      (f.dropAfterSubmits > 0 && this.submitsHere >= f.dropAfterSubmits) ||
      core.chance(f.dropConnectionProbability)
    ) {
      core.stats.dropped++;
      this.close();
      return;
    }
    if (core.chance(f.missingResponseProbability)) {
      core.stats.missingResponses++;
      return;
    }
    if (core.chance(f.genericNackProbability)) {
      core.stats.nacks++;
      this.reply(header(CMD.generic_nack, ERR.RSYSERR, seq));
      return;
    }
    if (f.throughputLimit > 0) {
      const s = Math.floor(Date.now() / 1000);
      if (s !== this.second) {
        this.second = s;
        this.inSecond = 0;
      }
      if (++this.inSecond > f.throughputLimit) {
        core.stats.throttled++;
        this.respond(seq, submitResp(seq, '', ERR.RTHROTTLED));
        return;
      }
    }
    if (this.queueFullLeft > 0 || core.chance(f.queueFullProbability)) {
      this.queueFullLeft = this.queueFullLeft > 0 ? this.queueFullLeft - 1 : f.queueFullBurstLength - 1;
      core.stats.queueFull++;
      this.respond(seq, submitResp(seq, '', ERR.RMSGQFUL));
      return;
    }
    if (core.chance(f.rejectProbability)) {
      core.stats.rejected++;
      this.respond(seq, submitResp(seq, '', ERR.RINVDSTADR));
      return;
    }
    const accepted = core.accept(this, pdu);
    const resp = submitResp(seq, accepted.id);
    if (accepted.receiptFirst) {
      accepted.sendReceipt();
      this.respond(seq, resp);
    } else {
      this.respond(seq, resp);
      accepted.sendReceipt();
    }
  }

  /** Writes a submit response now or after the scenario's delay. */
  private respond(_seq: number, resp: Buffer): void {
    const f = this.core.scenario.faults;
    if (f.responseDelayMaxMs > 0) {
      const d = f.responseDelayMinMs + this.core.random() * (f.responseDelayMaxMs - f.responseDelayMinMs);
      setTimeout(() => this.write(resp), d);
      return;
    }
    this.reply(resp);
  }
}
