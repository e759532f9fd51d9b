/**
 * PDU handling for the simulator, on the `smpp` library's definitions. Text filters are removed
 * (idempotently; the gateway's adapter does the same) so that short_message and message_payload
 * stay raw octets and the simulator decodes text itself.
 */
import smpp from 'smpp';

for (const def of Object.values(smpp.commands)) {
  for (const [name, param] of Object.entries(def.params ?? {})) {
    if (
      name === 'short_message' ||
      name === 'schedule_delivery_time' ||
      name === 'validity_period' ||
      name === 'final_date'
    ) {
      delete param.filter;
    }
  }
}
for (const tlv of Object.values(smpp.tlvs)) delete tlv.filter;

export const MAX_LEN = smpp.PDU.maxLength;

export const CMD = {
  generic_nack: 0x80000000,
  bind_receiver: 0x01,
  bind_transmitter: 0x02,
  submit_sm: 0x04,
  deliver_sm: 0x05,
  unbind: 0x06,
  bind_transceiver: 0x09,
  enquire_link: 0x15,
  data_sm: 0x103,
  deliver_sm_resp: 0x80000005,
  enquire_link_resp: 0x80000015,
  unbind_resp: 0x80000006,
} as const;

export const ERR = {
  ROK: 0x00,
  RINVMSGLEN: 0x01,
  RINVCMDLEN: 0x02,
  RINVCMDID: 0x03,
  RINVBNDSTS: 0x04,
  RALYBND: 0x05,
  RSYSERR: 0x08,
  RINVDSTADR: 0x0b,
  RINVPASWD: 0x0e,
  RINVSYSID: 0x0f,
  RMSGQFUL: 0x14,
  RTHROTTLED: 0x58,
} as const;

export type Decoded = InstanceType<typeof smpp.PDU>;

/** Decodes a frame; throws on anything the library cannot read. */
export function decode(frame: Buffer): Decoded {
  return new smpp.PDU(frame);
}

export function encode(
  command: string,
  seq: number,
  fields: Record<string, unknown> = {},
  status = 0,
): Buffer {
  return new smpp.PDU(command, { ...fields, sequence_number: seq, command_status: status }).toBuffer();
}

export function header(commandId: number, status: number, seq: number): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeUInt32BE(16, 0);
  b.writeUInt32BE(commandId >>> 0, 4);
  b.writeUInt32BE(status >>> 0, 8);
  b.writeUInt32BE(seq >>> 0, 12);
  return b;
}

/** submit_sm_resp built by hand: header + message_id C-string. It is a third of all PDUs we write. */
export function submitResp(seq: number, messageId: string, status = 0): Buffer {
  if (status !== 0) return header(0x80000004, status, seq);
  const len = 16 + messageId.length + 1;
  const b = Buffer.allocUnsafe(len);
  b.writeUInt32BE(len, 0);
  b.writeUInt32BE(0x80000004, 4);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(seq >>> 0, 12);
  b.write(messageId, 16, 'latin1');
  b[len - 1] = 0;
  return b;
}

/** Accumulates stream chunks and cuts frames by command_length; throws on an impossible length. */
export class Framer {
  private buf = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    const data = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    let off = 0;
    while (data.length - off >= 4) {
      const len = data.readUInt32BE(off);
      if (len < 16 || len > MAX_LEN) throw new RangeError(`bad command_length ${len}`);
      if (data.length - off < len) break;
      out.push(data.subarray(off, off + len));
      off += len;
    }
    this.buf = off === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(off));
    return out;
  }
}
