import type { EsmeConnection } from './connection.ts';
import {
  type MoRequest,
  malformedDeliverPdu,
  moPdus,
  receiptFor,
  receiptPdu,
  type StoredSubmit,
} from './deliveries.ts';
import type { SubmitView } from './fast-pdu.ts';
import { CMD, ERR, encode } from './pdu.ts';
import { createRandom } from './prng.ts';
import type { ReceiptStat, Scenario } from './scenario.ts';
import { decodeBytes } from './text.ts';

export interface SimStats {
  connections: number;
  binds: number;
  bindFailures: number;
  submits: number;
  accepted: number;
  throttled: number;
  queueFull: number;
  nacks: number;
  rejected: number;
  missingResponses: number;
  dropped: number;
  receipts: number;
  receiptResps: number;
  receiptRespErrors: number;
  mo: number;
  moResps: number;
  enquireLinks: number;
  enquireIgnored: number;
  malformed: number;
  unknownCommands: number;
  heldReceipts: number;
  redelivered: number;
  /** deliver_sm the ESME answered with a permanent error: dropped, as an SMSC does. */
  deliverRejected: number;
  malformedSent: number;
  injected: number;
}

export function emptyStats(): SimStats {
  return {
    connections: 0,
    binds: 0,
    bindFailures: 0,
    submits: 0,
    accepted: 0,
    throttled: 0,
    queueFull: 0,
    nacks: 0,
    rejected: 0,
    missingResponses: 0,
    dropped: 0,
    receipts: 0,
    receiptResps: 0,
    receiptRespErrors: 0,
    mo: 0,
    moResps: 0,
    enquireLinks: 0,
    enquireIgnored: 0,
    malformed: 0,
    unknownCommands: 0,
    heldReceipts: 0,
    redelivered: 0,
    deliverRejected: 0,
    malformedSent: 0,
    injected: 0,
  };
}

/** Answers after which an SMSC tries a deliver_sm again; any other error status drops it. */
const TEMPORARY = new Set([0x08, 0x14, 0x58, 0x64]);

/** State shared by all connections: scenario, randomness, ids, stored messages, receipt routing. */
export class SmscCore {
  stats = emptyStats();
  random: () => number;
  readonly connections = new Set<EsmeConnection>();
  private idCounter: number;
  private messages: StoredSubmit[] = [];
  private messagesAt = 0;
  private held = new Map<string, Buffer[]>();
  private rr = 0;
  private moRef = 0;

  constructor(
    public scenario: Scenario,
    private readonly credentials: { systemId?: string | undefined; password?: string | undefined },
    seed: number,
    private readonly messageLogSize: number,
  ) {
    this.random = createRandom(seed);
    this.idCounter = Math.floor(this.random() * 0x0fffffff) + 0x10000000;
  }

  chance(p: number): boolean {
    return p > 0 && this.random() < p;
  }

  checkCredentials(systemId: string, password: string): number {
    if (this.credentials.systemId !== undefined && systemId !== this.credentials.systemId)
      return ERR.RINVSYSID;
    if (this.credentials.password !== undefined && password !== this.credentials.password)
      return ERR.RINVPASWD;
    return 0;
  }

  onBound(conn: EsmeConnection): void {
    this.stats.binds++;
    if (!conn.canReceive) return;
    const held = this.held.get(conn.systemId);
    if (held) {
      this.held.delete(conn.systemId);
      this.stats.heldReceipts -= held.length;
      for (const pdu of held) this.sendDeliver(conn, pdu);
    }
  }

  /** A connection went away: what it never acknowledged is delivered again elsewhere (or held). */
  onClosed(conn: EsmeConnection): void {
    this.connections.delete(conn);
    const unacked = [...conn.unacked.values()];
    conn.unacked.clear();
    for (const pdu of unacked) {
      this.stats.redelivered++;
      this.deliverOrHold(conn.systemId, pdu);
    }
  }

  /**
   * An ESME answered a deliver_sm; a temporary error (e.g. 0x64) is retried after a second, a
   * permanent one (the ESME could not read it) drops the PDU.
   */
  onDeliverResp(conn: EsmeConnection, status: number, seq: number): void {
    const pdu = conn.unacked.get(seq);
    conn.unacked.delete(seq);
    if (status === 0) {
      if (pdu && !isReceiptPdu(pdu)) this.stats.moResps++;
      else this.stats.receiptResps++;
      return;
    }
    this.stats.receiptRespErrors++;
    if (!TEMPORARY.has(status)) {
      this.stats.deliverRejected++;
      return;
    }
    if (pdu) {
      setTimeout(() => {
        this.stats.redelivered++;
        this.deliverOrHold(conn.systemId, pdu);
      }, 1_000).unref();
    }
  }

  /** Registers an accepted submit; returns its id and a function that sends its receipt. */
  accept(
    conn: EsmeConnection,
    pdu: SubmitView,
  ): { id: string; receiptFirst: boolean; sendReceipt: () => void } {
    this.stats.accepted++;
    const id = this.nextId();
    const raw = pdu.shortMessage.length > 0 ? pdu.shortMessage : (pdu.messagePayload ?? Buffer.alloc(0));
    const stored: StoredSubmit = {
      id,
      systemId: conn.systemId,
      from: pdu.sourceAddr,
      to: pdu.destinationAddr,
      dataCoding: pdu.dataCoding,
      esmClass: pdu.esmClass,
      registeredDelivery: pdu.registeredDelivery,
      raw,
      at: Date.now(),
      viaPayload: pdu.shortMessage.length === 0 && pdu.messagePayload !== undefined,
    };
    this.remember(stored);
    const r = this.scenario.receipts;
    const stat = this.pickOutcome();
    const wants =
      ((stored.registeredDelivery & 0x03) === 1 ||
        ((stored.registeredDelivery & 0x03) === 2 && stat !== 'DELIVRD')) &&
      !this.chance(r.missingProbability);
    const receiptFirst = wants && this.chance(r.beforeResponseProbability);
    const sendReceipt = () => {
      if (!wants) return;
      const copies = this.chance(r.duplicateProbability) ? 2 : 1;
      const fire = () => {
        if (this.chance(this.scenario.faults.malformedDeliverProbability)) {
          this.stats.malformedSent++;
          this.routeReceipt(conn, malformedDeliverPdu());
        }
        const deliver = receiptPdu(stored, stat, this.scenario);
        for (let i = 0; i < copies; i++) this.routeReceipt(conn, i === 0 ? deliver : Buffer.from(deliver));
      };
      if (receiptFirst) fire();
      else {
        const delay = r.minMs + this.random() * (r.maxMs - r.minMs);
        if (delay <= 0) process.nextTick(fire);
        else setTimeout(fire, delay);
      }
    };
    return { id, receiptFirst, sendReceipt };
  }

  /** Sends an MO as one or more deliver_sm; returns the number of PDUs, throws on bad input or no receiver. */
  injectMo(req: MoRequest): number {
    const target = this.receiverFor(req.systemId);
    this.moRef = (this.moRef + 1) & 0xffff;
    const pdus = moPdus(req, req.ref ?? this.moRef);
    if (!target) throw new Error('no receiver or transceiver bind to deliver to');
    this.stats.mo++;
    for (const pdu of pdus) this.sendDeliver(target, pdu);
    return pdus.length;
  }

  /**
   * Sends a raw PDU (its sequence number is set here) to a receiver of `systemId` (any when
   * undefined): malformed PDUs, receipts for unknown ids, fuzzing. Throws when none is bound.
   */
  injectRaw(pdu: Buffer, systemId?: string): void {
    const target = this.receiverFor(systemId);
    if (!target) throw new Error('no receiver or transceiver bind to deliver to');
    if (pdu.length < 16) throw new Error('a PDU has at least 16 octets');
    this.stats.injected++;
    this.sendDeliver(target, Buffer.from(pdu));
  }

  /**
   * Floods a receiver at `perSecond` with `count` PDUs: receipts for ids never issued, or first
   * parts of concatenated MO that never complete. Resolves when all were written.
   */
  async flood(
    kind: 'unknown-receipts' | 'first-parts',
    count: number,
    perSecond: number,
    systemId?: string,
  ): Promise<number> {
    let sent = 0;
    const tick = 10;
    const perTick = Math.max(1, Math.round((perSecond * tick) / 1000));
    while (sent < count) {
      const n = Math.min(perTick, count - sent);
      for (let i = 0; i < n; i++, sent++) {
        if (kind === 'unknown-receipts')
          this.injectReceipt(`FLOOD${(sent + 1).toString(16).toUpperCase()}`, 'DELIVRD', systemId);
        else
          for (const pdu of moPdus(
            {
              from: `+1555${String(1_000_000 + (sent % 9_000_000))}`,
              to: '+15550000000',
              text: 'x'.repeat(300),
              segments: 3,
              only: [1],
              ref: sent & 0xffff,
            },
            0,
          ))
            this.injectRaw(pdu, systemId);
      }
      await new Promise((r) => setTimeout(r, tick));
    }
    return sent;
  }

  /** Sends a receipt for any id, known or not. */
  injectReceipt(id: string, stat: ReceiptStat = 'DELIVRD', systemId?: string): void {
    this.injectRaw(receiptFor(id, stat, this.scenario), systemId);
  }

  /** Stored submits, newest last, decoded for reading. */
  listMessages(limit: number): Array<Record<string, unknown>> {
    const all =
      this.messages.length < this.messageLogSize
        ? this.messages
        : [...this.messages.slice(this.messagesAt), ...this.messages.slice(0, this.messagesAt)];
    return all.slice(-limit).map((m) => {
      let body = m.raw;
      let concat: { ref: number; total: number; seq: number; refBits: 8 | 16 } | undefined;
      if (m.esmClass & 0x40 && body.length > 0) {
        const h = body.subarray(1, 1 + body[0]!);
        if (h[0] === 0 && h[1] === 3) concat = { ref: h[2]!, total: h[3]!, seq: h[4]!, refBits: 8 };
        if (h[0] === 8 && h[1] === 4)
          concat = { ref: (h[2]! << 8) | h[3]!, total: h[4]!, seq: h[5]!, refBits: 16 };
        body = body.subarray(1 + body[0]!);
      }
      return {
        id: m.id,
        systemId: m.systemId,
        from: m.from,
        to: m.to,
        dataCoding: m.dataCoding,
        esmClass: m.esmClass,
        registeredDelivery: m.registeredDelivery,
        viaPayload: Boolean(m.viaPayload),
        text: decodeBytes(body, m.dataCoding),
        bytes: body.toString('hex'),
        concat,
        at: new Date(m.at).toISOString(),
      };
    });
  }

  unbindAll(): number {
    let n = 0;
    for (const c of this.connections) {
      if (!c.kind) continue;
      c.write(encode('unbind', c.nextSeq()));
      n++;
    }
    return n;
  }

  resetState(): void {
    this.stats = emptyStats();
    this.messages = [];
    this.messagesAt = 0;
    this.held.clear();
  }

  private remember(m: StoredSubmit): void {
    if (this.messageLogSize <= 0) return;
    if (this.messages.length < this.messageLogSize) this.messages.push(m);
    else {
      this.messages[this.messagesAt] = m;
      this.messagesAt = (this.messagesAt + 1) % this.messageLogSize;
    }
  }

  private nextId(): string {
    const n = this.idCounter++;
    switch (this.scenario.idFormat) {
      case 'decimal':
        return String(n);
      case 'base36':
        return (n * 4099).toString(36).toUpperCase();
      case 'alnum':
        return `SIM${n.toString(36).toUpperCase()}X${Math.floor(this.random() * 1e9)
          .toString(36)
          .toUpperCase()}`;
      default:
        return n.toString(16).toUpperCase();
    }
  }

  private pickOutcome(): ReceiptStat {
    const entries = Object.entries(this.scenario.receipts.outcomes) as Array<[ReceiptStat, number]>;
    if (entries.length === 1) return entries[0]![0];
    const total = entries.reduce((a, [, w]) => a + w, 0);
    let x = this.random() * total;
    for (const [k, w] of entries) {
      x -= w;
      if (x < 0) return k;
    }
    return entries[entries.length - 1]![0];
  }

  private receiverFor(systemId: string | undefined, prefer?: EsmeConnection): EsmeConnection | undefined {
    if (prefer?.canReceive) return prefer;
    const list = [...this.connections].filter(
      (c) => c.canReceive && (systemId === undefined || c.systemId === systemId),
    );
    if (list.length === 0) return undefined;
    return list[this.rr++ % list.length];
  }

  private routeReceipt(origin: EsmeConnection, pdu: Buffer): void {
    this.stats.receipts++;
    const target = this.receiverFor(origin.systemId, origin);
    if (target) this.sendDeliver(target, pdu);
    else this.deliverOrHold(origin.systemId, pdu);
  }

  private deliverOrHold(systemId: string, pdu: Buffer): void {
    const target = this.receiverFor(systemId);
    if (target) this.sendDeliver(target, pdu);
    else {
      const list = this.held.get(systemId) ?? [];
      if (list.length < 100_000) {
        list.push(pdu);
        this.held.set(systemId, list);
        this.stats.heldReceipts++;
      }
    }
  }

  /** Writes a deliver_sm and keeps it until the ESME acknowledges it, as an SMSC does. */
  private sendDeliver(conn: EsmeConnection, pdu: Buffer): void {
    const seq = conn.nextSeq();
    pdu.writeUInt32BE(seq, 12);
    conn.unacked.set(seq, pdu);
    conn.write(pdu);
  }
}

export type { MoRequest };
export { CMD };

/** Whether a deliver_sm we wrote is a receipt (esm_class message type set) rather than an MO. */
function isReceiptPdu(pdu: Buffer): boolean {
  let i = 16;
  const skipCString = () => {
    while (i < pdu.length && pdu[i] !== 0) i++;
    i++;
  };
  skipCString(); // service_type
  i += 2; // source_addr_ton, source_addr_npi
  skipCString(); // source_addr
  i += 2; // dest_addr_ton, dest_addr_npi
  skipCString(); // destination_addr
  return ((pdu[i] ?? 0) & 0x3c) !== 0;
}
