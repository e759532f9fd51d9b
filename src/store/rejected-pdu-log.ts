import type { Logger } from '../logger.ts';
import type { EventBus } from '../messaging/events.ts';
import { statusName } from '../smpp/command-status.ts';
import type { RejectedPdu } from '../smpp/session-types.ts';
import { Batcher } from './batcher.ts';
import type { PduLogRepo, RejectedPduRecord } from './pdu-log-repo.ts';

const PDU_NAMES: Record<number, string> = { 5: 'deliver_sm', 259: 'data_sm' };

/**
 * Malformed PDUs from SMSCs, answered with an error by the session: logged, kept for operators
 * (batched writes) and counted. A flood of them is dropped (and counted), never queued without
 * limit; a write that fails is logged, never thrown.
 */
export class RejectedPduLog {
  private readonly writer: Batcher<RejectedPduRecord, undefined>;

  constructor(
    repo: PduLogRepo,
    private readonly bus: EventBus,
    private readonly log: Logger,
  ) {
    this.writer = new Batcher<RejectedPduRecord, undefined>(
      async (rows) => {
        await repo.insert(rows);
        return rows.map(() => undefined);
      },
      { maxItems: 200, maxDelayMs: 20, concurrency: 1, maxPending: 1_000 },
    );
  }

  /** The carrier handler for one carrier's rejected PDUs. */
  handlerFor(carrierId: string): (bindId: string, pdu: RejectedPdu) => void {
    return (bindId, pdu) => {
      const command = PDU_NAMES[pdu.commandId] ?? `0x${pdu.commandId.toString(16)}`;
      this.log.warn(
        { carrier: carrierId, bindId, command, answered: statusName(pdu.answeredStatus), reason: pdu.reason },
        'malformed PDU answered with an error; session kept',
      );
      const stored = !this.writer.full;
      if (stored)
        this.writer
          .add({ carrierId, bindId, ...pdu, pdu: pdu.frame })
          .catch((err: Error) => this.log.warn({ err: err.message }, 'rejected PDU not stored'));
      this.bus.publish('pdu.rejected', [{ carrierId, command, commandStatus: pdu.answeredStatus, stored }]);
    };
  }

  drain(): Promise<void> {
    return this.writer.drain();
  }
}
