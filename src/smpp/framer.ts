import { SmppProtocolError } from '../errors/app-error.ts';

/**
 * Splits a TCP byte stream into SMPP frames by command_length. Keeps at most one partial frame.
 * `push` throws SmppProtocolError on a command_length below the header size or above `maxLength`:
 * the stream can no longer be trusted and the session must be destroyed (the `smpp` library's
 * Session instead emits `error` and silently stops reading).
 */
export class PduFramer {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxLength: number) {}

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): Buffer[] {
    const data = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Buffer[] = [];
    let off = 0;
    while (data.length - off >= 4) {
      const len = data.readUInt32BE(off);
      if (len < 16 || len > this.maxLength) {
        this.buf = Buffer.alloc(0);
        throw new SmppProtocolError(`invalid command_length ${len} (allowed 16..${this.maxLength})`);
      }
      if (data.length - off < len) break;
      frames.push(data.subarray(off, off + len));
      off += len;
    }
    // Copy the remainder so one slow frame does not pin a large chunk in memory.
    this.buf = off === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(off));
    return frames;
  }
}
