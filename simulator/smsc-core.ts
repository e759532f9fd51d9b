import type { EsmeConnection } from './connection.ts';
import { encodeDeliverSm, type SubmitView } from './fast-pdu.ts';
import { CMD, ERR, encode } from './pdu.ts';
import { createRandom } from './prng.ts';
import type { ReceiptStat, Scenario } from './scenario.ts';
import { dataCodingFor, decodeBytes, encodeText, type SimEncoding, splitEncoded } from './text.ts';

const MESSAGE_STATE: Record<ReceiptStat, number> = {
  ENROUTE: 1,
  DELIVRD: 2,
  EXPIRED: 3,
  DELETED: 4,
  UNDELIV: 5,
  ACCEPTD: 6,
  UNKNOWN: 7,
  REJECTD: 8,
};

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
  };
}

/** A submit as the simulator stored it; text is decoded only when read. */
interface Stored {
  id: string;
  systemId: string;
  from: string;
  to: string;
  dataCoding: number;
  esmClass: number;
  registeredDelivery: number;
  raw: Buffer;
  at: number;
}

export interface MoRequest {
  from: string;
  to: string;
  text: string;
  encoding?: SimEncoding;
  segments?: number;
  concat?: 'udh8' | 'udh16' | 'sar' | 'payload';
  systemId?: string;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** State shared by all connections: scenario, randomness, ids, stored messages, receipt routing. */
export class SmscCore {
  stats = emptyStats();
  random: () => number;
  readonly connections = new Set<EsmeConnection>();
  private idCounter: number;
  private messages: Stored[] = [];
  private messagesAt = 0;
  private held = new Map<string, Buffer[]>();
  private rr = 0;
  private moRef = 0;
  private dateCache = { second: -1, text: '' };

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

  /** An ESME answered a deliver_sm; an error answer (e.g. 0x64 temporary) is retried after a second. */
  onDeliverResp(conn: EsmeConnection, status: number, seq: number): void {
    const pdu = conn.unacked.get(seq);
    conn.unacked.delete(seq);
    if (status === 0) {
      this.stats.receiptResps++;
      return;
    }
    this.stats.receiptRespErrors++;
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
    const stored: Stored = {
      id,
      systemId: conn.systemId,
      from: pdu.sourceAddr,
      to: pdu.destinationAddr,
      dataCoding: pdu.dataCoding,
      esmClass: pdu.esmClass,
      registeredDelivery: pdu.registeredDelivery,
      raw,
      at: Date.now(),
    };
    this.remember(stored);
    const r = this.scenario.receipts;
    const stat = this.pickOutcome();
    const wants =
      (stored.registeredDelivery & 0x03) === 1 ||
      ((stored.registeredDelivery & 0x03) === 2 && stat !== 'DELIVRD');
    const receiptFirst = wants && this.chance(r.beforeResponseProbability);
    const sendReceipt = () => {
      if (!wants) return;
      const copies = this.chance(r.duplicateProbability) ? 2 : 1;
      const fire = () => {
        const deliver = this.receiptPdu(stored, stat);
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
    const enc = req.encoding ?? 'gsm7';
    const data = encodeText(req.text, enc);
    if (!data) throw new Error(`text cannot be encoded as ${enc}`);
    const target = this.receiverFor(req.systemId);
    if (!target) throw new Error('no receiver or transceiver bind to deliver to');
    const n = Math.max(1, Math.min(255, req.segments ?? 1));
    const dc = dataCodingFor(enc);
    const base = {
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: req.from.replace(/^\+/, ''),
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: req.to.replace(/^\+/, ''),
      data_coding: dc,
    };
    this.stats.mo++;
    if (req.concat === 'payload' || (n === 1 && data.length > 254)) {
      this.sendDeliver(
        target,
        encode('deliver_sm', 0, {
          ...base,
          esm_class: 0,
          short_message: Buffer.alloc(0),
          message_payload: data,
        }),
      );
      return 1;
    }
    const parts = n === 1 ? [data] : splitEncoded(data, enc, n);
    this.moRef = (this.moRef + 1) & 0xffff;
    const ref = this.moRef;
    parts.forEach((p, i) => {
      const fields: Record<string, unknown> = { ...base, esm_class: 0, short_message: p };
      if (parts.length > 1) {
        if (req.concat === 'sar') {
          fields.sar_msg_ref_num = ref;
          fields.sar_total_segments = parts.length;
          fields.sar_segment_seqnum = i + 1;
        } else {
          const udh =
            req.concat === 'udh16'
              ? Buffer.from([6, 8, 4, ref >> 8, ref & 0xff, parts.length, i + 1])
              : Buffer.from([5, 0, 3, ref & 0xff, parts.length, i + 1]);
          fields.esm_class = 0x40;
          fields.short_message = Buffer.concat([udh, p]);
        }
      }
      this.sendDeliver(target, encode('deliver_sm', 0, fields));
    });
    return parts.length;
  }

  /** Stored submits, newest last, decoded for reading. */
  listMessages(limit: number): Array<Record<string, unknown>> {
    const all =
      this.messages.length < this.messageLogSize
        ? this.messages
        : [...this.messages.slice(this.messagesAt), ...this.messages.slice(0, this.messagesAt)];
    return all.slice(-limit).map((m) => {
      let body = m.raw;
      let concat: { ref: number; total: number; seq: number } | undefined;
      if (m.esmClass & 0x40 && body.length > 0) {
        const h = body.subarray(1, 1 + body[0]!);
        if (h[0] === 0 && h[1] === 3) concat = { ref: h[2]!, total: h[3]!, seq: h[4]! };
        if (h[0] === 8 && h[1] === 4) concat = { ref: (h[2]! << 8) | h[3]!, total: h[4]!, seq: h[5]! };
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

  private remember(m: Stored): void {
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
      case 'alnum':
        return `SIM${n.toString(36).toUpperCase()}X${Math.floor(this.random() * 1e9)
          .toString(36)
          .toUpperCase()}`;
      default:
        return n.toString(16).toUpperCase();
    }
  }

  private renderId(id: string): string {
    switch (this.scenario.receipts.idRendering) {
      case 'decimal':
        return /^[0-9A-F]+$/i.test(id) && this.scenario.idFormat === 'hex'
          ? BigInt(`0x${id}`).toString(10)
          : id;
      case 'leading-zeros':
        return id.padStart(Math.max(id.length + 2, 20), '0');
      case 'uppercase':
        return id.toUpperCase();
      case 'lowercase':
        return id.toLowerCase();
      default:
        return id;
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

  private receiptDate(): string {
    const now = Date.now();
    const s = Math.floor(now / 1000);
    if (s !== this.dateCache.second) {
      const d = new Date(now);
      this.dateCache = {
        second: s,
        text: `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}`,
      };
    }
    return this.dateCache.text;
  }

  private receiptPdu(m: Stored, stat: ReceiptStat): Buffer {
    const r = this.scenario.receipts;
    const rid = this.renderId(m.id);
    const err = stat === 'DELIVRD' ? 0 : (r.errorCodes[stat] ?? 0);
    let shortMessage = Buffer.alloc(0);
    if (r.format !== 'tlv') {
      let body = m.raw;
      if (m.esmClass & 0x40 && body.length > 0) body = body.subarray(1 + body[0]!);
      const text = decodeBytes(body.subarray(0, 20), m.dataCoding)
        .slice(0, 20)
        .replace(/[^\x20-\x7e]/g, '.');
      const date = this.receiptDate();
      shortMessage = Buffer.from(
        `id:${rid} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} submit date:${date} done date:${date} stat:${stat} err:${String(err).padStart(3, '0')} text:${text}`,
        'latin1',
      );
    }
    const tlvs: Array<[number, Buffer]> = [];
    if (r.format !== 'text') {
      tlvs.push([0x001e, Buffer.from(`${rid}\0`, 'latin1')], [0x0427, Buffer.from([MESSAGE_STATE[stat]])]);
      if (err) tlvs.push([0x0423, Buffer.from([3, (err >> 8) & 0xff, err & 0xff])]);
    }
    return encodeDeliverSm(0, {
      sourceAddrTon: 1,
      sourceAddrNpi: 1,
      sourceAddr: m.to,
      destAddrTon: 1,
      destAddrNpi: 1,
      destinationAddr: m.from,
      esmClass: 0x04,
      dataCoding: 0,
      shortMessage,
      tlvs,
    });
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

export { CMD };
