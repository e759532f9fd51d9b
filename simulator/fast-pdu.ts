/**
 * Hand-written submit_sm decoder and deliver_sm encoder for the simulator's hot path: bench:smpp
 * showed the library's generic encoder taking ~40% of the simulator's CPU. Byte-identical to the
 * `smpp` library (test/integration/simulator-fast-pdu.test.ts uses it as the oracle).
 */

export interface SubmitView {
  sourceAddr: string;
  destinationAddr: string;
  esmClass: number;
  registeredDelivery: number;
  dataCoding: number;
  shortMessage: Buffer;
  messagePayload: Buffer | undefined;
}

function cstr(b: Buffer, o: number, max: number): [string, number] {
  const limit = Math.min(b.length, o + max);
  let e = o;
  while (e < limit && b[e] !== 0) e++;
  if (e >= limit) throw new RangeError('C-string not terminated');
  return [b.toString('latin1', o, e), e + 1];
}

/** Reads the submit_sm fields the simulator uses; throws RangeError on a truncated or overrunning PDU. */
export function decodeSubmitSm(frame: Buffer): SubmitView {
  let o = 16;
  let s: string;
  [, o] = cstr(frame, o, 6);
  o += 2;
  [s, o] = cstr(frame, o, 21);
  const sourceAddr = s;
  o += 2;
  [s, o] = cstr(frame, o, 21);
  const destinationAddr = s;
  const esmClass = frame[o]!;
  o += 3;
  [, o] = cstr(frame, o, 17);
  [, o] = cstr(frame, o, 17);
  if (o + 5 > frame.length) throw new RangeError('submit_sm truncated');
  const registeredDelivery = frame[o]!;
  const dataCoding = frame[o + 2]!;
  const smLen = frame[o + 4]!;
  o += 5;
  if (o + smLen > frame.length) throw new RangeError('short_message runs past the PDU');
  const shortMessage = frame.subarray(o, o + smLen);
  o += smLen;
  let messagePayload: Buffer | undefined;
  while (o + 4 <= frame.length) {
    const tag = frame.readUInt16BE(o);
    const len = frame.readUInt16BE(o + 2);
    if (o + 4 + len > frame.length) throw new RangeError(`TLV 0x${tag.toString(16)} runs past the PDU`);
    if (tag === 0x0424) messagePayload = frame.subarray(o + 4, o + 4 + len);
    o += 4 + len;
  }
  return {
    sourceAddr,
    destinationAddr,
    esmClass,
    registeredDelivery,
    dataCoding,
    shortMessage,
    messagePayload,
  };
}

export interface DeliverFields {
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  destinationAddr: string;
  esmClass: number;
  dataCoding: number;
  shortMessage: Buffer;
  /** TLVs in wire order. */
  tlvs: Array<[tag: number, value: Buffer]>;
}

/** Encodes deliver_sm with empty service_type, schedule and validity, as the library does for these fields. */
export function encodeDeliverSm(seq: number, f: DeliverFields): Buffer {
  let len =
    16 +
    1 +
    2 +
    f.sourceAddr.length +
    1 +
    2 +
    f.destinationAddr.length +
    1 +
    3 +
    1 +
    1 +
    5 +
    f.shortMessage.length;
  for (const [, v] of f.tlvs) len += 4 + v.length;
  const b = Buffer.allocUnsafe(len);
  b.writeUInt32BE(len, 0);
  b.writeUInt32BE(0x00000005, 4);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(seq >>> 0, 12);
  let o = 16;
  b[o++] = 0;
  b[o++] = f.sourceAddrTon;
  b[o++] = f.sourceAddrNpi;
  o += b.write(f.sourceAddr, o, 'latin1');
  b[o++] = 0;
  b[o++] = f.destAddrTon;
  b[o++] = f.destAddrNpi;
  o += b.write(f.destinationAddr, o, 'latin1');
  b[o++] = 0;
  b[o++] = f.esmClass;
  b[o++] = 0;
  b[o++] = 0;
  b[o++] = 0;
  b[o++] = 0;
  b[o++] = 0;
  b[o++] = 0;
  b[o++] = f.dataCoding;
  b[o++] = 0;
  b[o++] = f.shortMessage.length;
  o += f.shortMessage.copy(b, o);
  for (const [tag, v] of f.tlvs) {
    b.writeUInt16BE(tag, o);
    b.writeUInt16BE(v.length, o + 2);
    o += 4 + v.copy(b, o + 4);
  }
  return b;
}
