// biome-ignore-all lint/suspicious/noExplicitAny: the plain library has no types; these baselines use it untyped on purpose.
/** A minimal SMSC on the `smpp` library's own Server/Session (one write per PDU): the baseline the simulator must outrun. */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const smpp: any = require('smpp');
let id = 0x10000000;

const server = smpp.createServer((session: any) => {
  session.on('error', () => undefined);
  session.socket.setNoDelay(true);
  for (const cmd of ['bind_transceiver', 'bind_transmitter', 'bind_receiver', 'enquire_link', 'unbind'])
    session.on(cmd, (pdu: any) => session.send(pdu.response()));
  session.on('submit_sm', (pdu: any) => {
    const mid = (id++).toString(16).toUpperCase();
    session.send(pdu.response({ message_id: mid }));
    if (pdu.registered_delivery & 1) {
      session.deliver_sm({
        source_addr: pdu.destination_addr,
        destination_addr: pdu.source_addr,
        esm_class: 4,
        short_message: `id:${mid} sub:001 dlvrd:001 submit date:2611261200 done date:2611261200 stat:DELIVRD err:000 text:`,
        receipted_message_id: mid,
        message_state: 2,
      });
    }
  });
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(
    `${JSON.stringify({ msg: 'plain server ready', port: server.address().port, pid: process.pid })}\n`,
  );
});
process.on('SIGTERM', () => process.exit(0));
