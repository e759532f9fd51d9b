import net from 'node:net';
import { encodeDeliverSm } from '../../simulator/fast-pdu.ts';
import { encode, Framer } from '../../simulator/pdu.ts';
import { createRandom } from '../../simulator/prng.ts';

const CMD = {
  generic_nack: 0x80000000,
  bind_receiver: 0x01,
  bind_transmitter: 0x02,
  submit_sm: 0x04,
  deliver_sm: 0x05,
  unbind: 0x06,
  bind_transceiver: 0x09,
  enquire_link: 0x15,
  alert_notification: 0x102,
  data_sm: 0x103,
} as const;
// unbind (0x06) is sent on its own schedule (see fuzz): a random one would end the session too often to test anything else.
const KNOWN = [0x01, 0x02, 0x03, 0x04, 0x05, 0x07, 0x08, 0x09, 0x0b, 0x15, 0x21, 0x102, 0x103];

function header(cmd: number, status: number, seq: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(16 + body.length);
  b.writeUInt32BE(16 + body.length, 0);
  b.writeUInt32BE(cmd >>> 0, 4);
  b.writeUInt32BE(status >>> 0, 8);
  b.writeUInt32BE(seq >>> 0, 12);
  body.copy(b, 16);
  return b;
}

/**
 * An SMSC that carries real traffic (binds, submit_sm answered, a receipt for each, redelivered
 * until acknowledged) while throwing hostile PDUs at the ESME: mutated receipts and MO, bad TLVs,
 * random bodies for every command id, stray responses, and now and then broken framing or an
 * unbind. Seeded, so a failure replays.
 */
export class FuzzSmsc {
  private server: net.Server | undefined;
  private readonly conns = new Set<net.Socket>();
  private readonly rnd: () => number;
  private idCounter = 0x100000;
  private seq = 1;
  /** Receipts written and not acknowledged, by id (redelivered after a reconnect). */
  private readonly unacked = new Map<string, Buffer>();
  private readonly inflight = new Map<number, string>();
  port = 0;
  readonly stats = {
    binds: 0,
    submits: 0,
    fuzzSent: 0,
    framingBreaks: 0,
    unbinds: 0,
    receiptsAcked: 0,
    errorAnswers: 0,
  };

  constructor(seed: number) {
    this.rnd = createRandom(seed);
  }

  private int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  private bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  async start(): Promise<void> {
    this.server = net.createServer((s) => this.accept(s));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private accept(s: net.Socket): void {
    this.conns.add(s);
    s.setNoDelay(true);
    s.on('error', () => undefined);
    s.on('close', () => this.conns.delete(s));
    const framer = new Framer();
    s.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = framer.push(chunk);
      } catch {
        s.destroy();
        return;
      }
      for (const f of frames) this.onFrame(s, f);
    });
  }

  private write(s: net.Socket, b: Buffer): void {
    if (!s.destroyed) s.write(b);
  }

  private onFrame(s: net.Socket, f: Buffer): void {
    const cmd = f.readUInt32BE(4);
    const status = f.readUInt32BE(8);
    const seq = f.readUInt32BE(12);
    switch (cmd) {
      case CMD.bind_transceiver:
      case CMD.bind_transmitter:
      case CMD.bind_receiver: {
        this.stats.binds++;
        this.write(s, header((cmd | 0x80000000) >>> 0, 0, seq, Buffer.from('FUZZ\0')));
        // What an SMSC still holds is delivered again to the new session.
        for (const pdu of this.unacked.values()) this.deliver(s, pdu);
        return;
      }
      case CMD.submit_sm: {
        this.stats.submits++;
        const id = (this.idCounter++).toString(16).toUpperCase();
        this.write(s, header(0x80000004, 0, seq, Buffer.from(`${id}\0`)));
        const receipt = encodeDeliverSm(0, {
          sourceAddrTon: 1,
          sourceAddrNpi: 1,
          sourceAddr: '14155550123',
          destAddrTon: 1,
          destAddrNpi: 1,
          destinationAddr: '15550000000',
          esmClass: 0x04,
          dataCoding: 0,
          shortMessage: Buffer.from(
            `id:${id} sub:001 dlvrd:001 submit date:2612020000 done date:2612020000 stat:DELIVRD err:000 text:x`,
          ),
          tlvs: [],
        });
        this.unacked.set(id, receipt);
        setTimeout(() => this.deliver(s, receipt), this.int(50));
        return;
      }
      case CMD.enquire_link:
        this.write(s, header(0x80000015, 0, seq));
        return;
      case CMD.unbind:
        this.write(s, header(0x80000006, 0, seq));
        s.end();
        return;
      case 0x80000005: {
        const id = this.inflight.get(seq);
        this.inflight.delete(seq);
        if (status !== 0) this.stats.errorAnswers++;
        if (id !== undefined && status === 0) {
          this.unacked.delete(id);
          this.stats.receiptsAcked++;
        }
        return;
      }
      default:
        return;
    }
  }

  private deliver(s: net.Socket, pdu: Buffer): void {
    const seq = this.seq++;
    const b = Buffer.from(pdu);
    b.writeUInt32BE(seq, 12);
    const text = b.toString('latin1');
    const id = /id:([0-9A-F]+) /.exec(text)?.[1];
    if (id) this.inflight.set(seq, id);
    this.write(s, b);
  }

  /** A valid MO or receipt-shaped deliver_sm with random fields, then randomly mutated. */
  private hostileDeliver(): Buffer {
    const tlvs: Array<[number, Buffer]> = [];
    const nTlv = this.int(4);
    for (let i = 0; i < nTlv; i++) {
      const tag = [0x001e, 0x0427, 0x0423, 0x0424, 0x020c, 0x020e, 0x020f, this.int(0x10000)][this.int(8)]!;
      tlvs.push([tag, this.bytes(this.int(12))]);
    }
    const udhi = this.rnd() < 0.3;
    const sm = udhi
      ? Buffer.concat([
          Buffer.from([5, 0, 3, this.int(256), this.int(4), this.int(4)]),
          this.bytes(this.int(40)),
        ])
      : this.bytes(this.int(160));
    let pdu = encodeDeliverSm(this.seq++, {
      sourceAddrTon: this.int(7),
      sourceAddrNpi: this.int(19),
      sourceAddr: String(this.int(1e11)),
      destAddrTon: this.int(7),
      destAddrNpi: this.int(19),
      destinationAddr: this.rnd() < 0.5 ? '15550000000' : String(this.int(1e6)),
      esmClass: [0, 0x04, 0x08, 0x40, 0x44, this.int(256)][this.int(6)]!,
      dataCoding: [0, 1, 3, 8, 0x18, 0xf4, this.int(256)][this.int(7)]!,
      shortMessage: sm.subarray(0, 254),
      tlvs,
    });
    const m = this.int(4);
    if (m === 1) {
      // Flip bytes in the body; the header (framing) stays intact.
      pdu = Buffer.from(pdu);
      for (let i = 0, n = 1 + this.int(6); i < n && pdu.length > 17; i++)
        pdu[16 + this.int(pdu.length - 16)] = this.int(256);
    } else if (m === 2) {
      // Truncate with a consistent command_length.
      pdu = Buffer.from(pdu.subarray(0, 16 + this.int(pdu.length - 15)));
      pdu.writeUInt32BE(pdu.length, 0);
    } else if (m === 3) {
      // A TLV whose length runs past the end.
      pdu = Buffer.concat([pdu, Buffer.from([0x04, 0x27, 0x00, 10 + this.int(200), 2])]);
      pdu.writeUInt32BE(pdu.length, 0);
    }
    return pdu;
  }

  private hostilePdu(): Buffer {
    const r = this.int(100);
    if (r < 40) return this.hostileDeliver();
    if (r < 60)
      return header(
        KNOWN[this.int(KNOWN.length)]!,
        this.int(3) === 0 ? this.int(0x100) : 0,
        this.seq++,
        this.bytes(this.int(64)),
      );
    if (r < 70) return header((this.int(0x7fffffff) | 0) >>> 0, 0, this.seq++, this.bytes(this.int(32)));
    if (r < 85) {
      // Responses nobody asked for: stray submit_sm_resp, enquire_link_resp, generic_nack, bind resp.
      const resp = [0x80000004, 0x80000015, 0x80000000, 0x80000009, 0x80000006, 0x80000103][this.int(6)]!;
      return header(
        resp,
        this.int(5) === 0 ? this.int(0x100) : 0,
        this.int(0x7fffffff),
        this.int(2) ? Buffer.from(`${this.int(1e6).toString(16)}\0`) : this.bytes(this.int(20)),
      );
    }
    if (r < 93)
      return encode('data_sm', this.seq++, {
        source_addr: String(this.int(1e10)),
        destination_addr: '15550000000',
        data_coding: this.int(256),
        message_payload: this.bytes(this.int(100)),
      });
    if (r < 97) return header(CMD.enquire_link, 0, this.seq++);
    return header(CMD.alert_notification, 0, this.seq++, this.bytes(this.int(20)));
  }

  /**
   * Sends `count` hostile PDUs over the open sessions at about `perSecond`, with a broken frame or
   * an unbind every `breakEvery` PDUs (the ESME must rebind and carry on).
   */
  async fuzz(count: number, perSecond: number, breakEvery = 2_500): Promise<void> {
    const tick = 10;
    const perTick = Math.max(1, Math.round((perSecond * tick) / 1000));
    for (let sent = 0; sent < count; ) {
      const open = [...this.conns].filter((c) => !c.destroyed);
      if (open.length === 0) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      for (let i = 0; i < perTick && sent < count; i++, sent++) {
        const s = open[this.int(open.length)]!;
        if (sent > 0 && sent % breakEvery === 0) {
          if (this.int(2) === 0) {
            this.stats.framingBreaks++;
            this.write(s, Buffer.from([0, 0, 0, this.int(16), 0, 0, 0, 5]));
          } else {
            this.stats.unbinds++;
            this.write(s, header(CMD.unbind, 0, this.seq++));
          }
          continue;
        }
        this.stats.fuzzSent++;
        this.write(s, this.hostilePdu());
      }
      await new Promise((r) => setTimeout(r, tick));
    }
  }

  get pendingReceipts(): number {
    return this.unacked.size;
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
