import type net from 'node:net';

/**
 * Queues PDUs and writes everything queued in one tick as one socket write (loopback runs make
 * a syscall per PDU the cost that dominates). Tracks buffered bytes for backpressure: `full`
 * turns true at the high-water mark, and `onDrained` fires once it falls below it again.
 */
export class CoalescingWriter {
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private starved = false;
  private closed = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly highWaterMark: number,
    private readonly onDrained: () => void,
  ) {
    socket.on('drain', () => this.unstarve());
  }

  /** True when queued plus socket-buffered bytes reach the high-water mark; remembers to call onDrained. */
  get full(): boolean {
    if (this.queuedBytes + this.socket.writableLength < this.highWaterMark) return false;
    this.starved = true;
    return true;
  }

  write(buf: Buffer): void {
    if (this.closed) return;
    this.queue.push(buf);
    this.queuedBytes += buf.length;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  /** Drops whatever is queued; later writes are ignored. */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed || this.queue.length === 0) return;
    const data = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue, this.queuedBytes);
    this.queue = [];
    this.queuedBytes = 0;
    this.socket.write(data);
    this.unstarve();
  }

  private unstarve(): void {
    if (!this.starved || this.closed || this.socket.writableLength >= this.highWaterMark) return;
    this.starved = false;
    this.onDrained();
  }
}
