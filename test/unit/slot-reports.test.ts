import { describe, expect, it } from 'vitest';
import { type GatewayEvents, LocalBus } from '../../src/messaging/events.ts';
import { SlotReports } from '../../src/messaging/slot-reports.ts';

const spin = (ms: number) => {
  for (const end = Date.now() + ms; Date.now() < end; );
};

describe('slot reports (when a paced segment left for the socket)', () => {
  it('times a write after the flush queued behind it in the same tick (regression: a pause between the check and the flush put a write on the wire later than reported)', async () => {
    const bus = new LocalBus();
    const got: Array<GatewayEvents['slot.written']> = [];
    bus.subscribe('slot.written', (e) => got.push(...e));
    const reports = new SlotReports(bus);
    const at = Date.now();
    let flushedAt = 0;
    // As the dispatcher does: the slot's last check reports it, then the PDU is queued to the
    // carrier's writer, whose flush is a nextTick queued after the report's.
    reports.wrote({ id: 'a' }, at);
    reports.wrote({ id: 'b' }, at);
    process.nextTick(() => {
      spin(25); // a scavenge, or the rest of a long batch, before the socket write
      flushedAt = Date.now();
    });
    await new Promise((r) => setImmediate(r));
    expect(got.map((e) => e.ticket?.id)).toEqual(['a', 'b']);
    for (const e of got) expect(e.lateMs).toBeGreaterThanOrEqual(flushedAt - at);
    expect(got[0]!.lateMs).toBeGreaterThanOrEqual(25);
  });

  it('reports unused slots once per tick, and none without a ticket', async () => {
    const bus = new LocalBus();
    const batches: Array<Array<GatewayEvents['slot.unused']>> = [];
    bus.subscribe('slot.unused', (e) => batches.push([...e]));
    const reports = new SlotReports(bus);
    reports.unusedSlot({ id: 1 });
    reports.unusedSlot(undefined);
    reports.unusedSlot({ id: 2 });
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[{ ticket: { id: 1 } }, { ticket: { id: 2 } }]]);
  });
});
