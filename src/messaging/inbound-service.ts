import { randomUUID } from 'node:crypto';
import type { MoMessage } from '../smpp/inbound.ts';
import { Batcher } from '../store/batcher.ts';
import { columns, pushRow } from '../store/columns.ts';
import type { Db } from '../store/db.ts';

/** Numbers are stored as E.164 or as short-code digits; an MO's destination may lack the '+'. */
export function numberKey(to: string): string {
  return to.startsWith('+') || /^\d{3,8}$/.test(to) ? to : `+${to}`;
}

/**
 * Stores inbound (MO) messages, batched, attributed to the account that owns the destination
 * number (null when no account does, kept for the operator). The SMSC gets its deliver_sm_resp
 * only after the row is committed. Conversations build on these rows.
 */
export class InboundService {
  private readonly writer: Batcher<{ carrierId: string; m: MoMessage }, undefined>;

  constructor(private readonly db: Db) {
    this.writer = new Batcher(
      async (items) => {
        const cols = columns(7);
        for (const { carrierId, m } of items)
          pushRow(cols, [randomUUID(), m.from, m.to, m.text, m.segments, m.complete, carrierId]);
        await this.db.query(
          `INSERT INTO inbound_messages (id, account_id, from_e164, to_e164, body, segments, complete, carrier_id)
         SELECT x.id, n.account_id, x.f, x.t, x.b, x.s, x.c, x.carrier
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::boolean[], $7::text[]) AS x(id, f, t, b, s, c, carrier)
         LEFT JOIN numbers n ON n.e164 = x.t`,
          cols,
        );
        return items.map(() => undefined);
      },
      { maxItems: 500, maxDelayMs: 5, concurrency: 1 },
    );
  }

  store(carrierId: string, m: MoMessage): Promise<undefined> {
    return this.writer.add({ carrierId, m });
  }

  drain(): Promise<void> {
    return this.writer.drain();
  }
}
