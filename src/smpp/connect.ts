/** The transport under a session: a TCP or TLS socket tuned for SMPP, and the bind request. */
import net from 'node:net';
import tls from 'node:tls';
import { CoalescingWriter } from './coalescing-writer.ts';
import { encodePdu } from './pdu-codec.ts';
import type { BindMode, SessionOptions } from './session-types.ts';

const BIND_COMMAND: Record<BindMode, string> = {
  trx: 'bind_transceiver',
  tx: 'bind_transmitter',
  rx: 'bind_receiver',
};

export interface TransportEvents {
  /** Connected (TLS: handshake done): time to bind. */
  connected(): void;
  data(chunk: Buffer): void;
  /** The write buffer drained below its high-water mark. */
  writable(): void;
  error(err: Error): void;
  closed(): void;
}

/**
 * Connects (TLS when configured, verifying as configured), with Nagle off and TCP keep-alive, and
 * one coalescing writer that stops at `writeHighWaterMark`. Never throws: failures arrive as events.
 */
export function openTransport(
  opts: SessionOptions,
  on: TransportEvents,
): { socket: net.Socket; writer: CoalescingWriter } {
  const { host, port } = opts;
  const socket = opts.tls
    ? tls.connect({ host, port, ...(typeof opts.tls === 'object' ? opts.tls : {}) })
    : net.connect({ host, port });
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 30_000);
  socket.on(opts.tls ? 'secureConnect' : 'connect', () => on.connected());
  socket.on('data', (chunk: Buffer) => on.data(chunk));
  const writer = new CoalescingWriter(socket, opts.writeHighWaterMark, () => on.writable());
  socket.on('error', (err) => on.error(err));
  socket.on('close', () => on.closed());
  return { socket, writer };
}

/** The bind_transceiver/transmitter/receiver PDU for the session's credentials and address range. */
export function encodeBind(opts: SessionOptions, seq: number): Buffer {
  return encodePdu(BIND_COMMAND[opts.bindMode], seq, {
    system_id: opts.systemId,
    password: opts.password,
    system_type: opts.systemType,
    interface_version: opts.interfaceVersion,
    addr_ton: opts.addrTon,
    addr_npi: opts.addrNpi,
    address_range: opts.addressRange,
  });
}
