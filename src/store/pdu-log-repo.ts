import type { Db } from './db.ts';

export interface RejectedPduRecord {
  carrierId: string;
  bindId: string;
  commandId: number;
  sequenceNumber: number;
  answeredStatus: number;
  reason: string;
  pdu: Buffer;
}

export interface RejectedPduView extends Omit<RejectedPduRecord, 'pdu'> {
  id: string;
  /** The PDU as received, hex. */
  pdu: string;
  receivedAt: string;
}

/** PDUs from SMSCs that were answered with an error: kept for operators to inspect. */
export class PduLogRepo {
  constructor(private readonly db: Db) {}

  async insert(rows: RejectedPduRecord[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.query(
      `INSERT INTO rejected_pdus (carrier_id, bind_id, command_id, sequence_number, answered_status, reason, pdu)
       SELECT c, b, cmd, seq, st, r, decode(p, 'hex')
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::text[], $7::text[]) AS x(c, b, cmd, seq, st, r, p)`,
      [
        rows.map((r) => r.carrierId),
        rows.map((r) => r.bindId),
        rows.map((r) => r.commandId),
        rows.map((r) => r.sequenceNumber),
        rows.map((r) => r.answeredStatus),
        rows.map((r) => r.reason.replaceAll('\u0000', '').slice(0, 500)),
        rows.map((r) => r.pdu.toString('hex')),
      ],
    );
  }

  async list(limit: number): Promise<RejectedPduView[]> {
    const r = await this.db.query<Record<string, unknown>>(
      `SELECT id::text AS id, carrier_id, bind_id, command_id, sequence_number, answered_status, reason, encode(pdu, 'hex') AS pdu, received_at
       FROM rejected_pdus ORDER BY received_at DESC, id DESC LIMIT $1`,
      [limit],
    );
    return r.rows.map((x) => ({
      id: x.id as string,
      carrierId: x.carrier_id as string,
      bindId: x.bind_id as string,
      commandId: Number(x.command_id),
      sequenceNumber: Number(x.sequence_number),
      answeredStatus: Number(x.answered_status),
      reason: x.reason as string,
      pdu: x.pdu as string,
      receivedAt: (x.received_at instanceof Date
        ? x.received_at
        : new Date(String(x.received_at))
      ).toISOString(),
    }));
  }
}
