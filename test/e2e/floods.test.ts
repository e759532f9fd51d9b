import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, simControl, startGatewayProcess, startSimProcess } from '../helpers/child-gateway.ts';
import type { Child } from '../helpers/processes.ts';
import { waitFor } from '../helpers/smpp.ts';

const children: Child[] = [];
const drops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  for (const d of drops) await d().catch(() => undefined);
});

/** The heap flags `npm start` runs the gateway with (package.json), so the bound is the real one. */
const START_FLAGS = /node (.*) dist\/main\.js/
  .exec(JSON.parse(readFileSync('package.json', 'utf8')).scripts.start as string)![1]!
  .split(' ');
/** Lets the test force full collections in the child (SIGUSR2) to read its live heap. */
const GC_ON_SIGNAL = [
  '--expose-gc',
  '--import',
  new URL('../helpers/gc-on-signal.mjs', import.meta.url).href,
];

// Regression (issue 6): 1,000 receipts/s for unknown ids exhausted the heap in ~80 s (10k/s:
// ~10 s); a 10k/s flood of first parts of multipart MO did too.
describe('floods from an SMSC', () => {
  it.each([
    ['unknown-id receipts', 'unknown-receipts', 60_000],
    ['first parts of multipart MO', 'first-parts', 30_000],
  ])(
    '%s at 10k/s: memory stays bounded, the SMSC is slowed by TCP, everything is stored',
    async (_name, kind, count) => {
      const db = await freshDatabase('flood');
      drops.push(db.drop);
      const sim = await startSimProcess();
      children.push(sim.child);
      const gw = await startGatewayProcess(
        db.url,
        sim.smscPort,
        { PARLEY_RECEIPT_PARK_TTL_MS: '4000' },
        { moReassemblyTimeoutMs: 4_000, maxPendingInbound: 1_000 },
        [...START_FLAGS, ...GC_ON_SIGNAL],
      );
      children.push(gw.child);
      const heap = () => gw.metric('parley_nodejs_heap_size_used_bytes');
      let forced = 0;
      /** The heap in use right after two forced full collections: what the gateway retains. */
      const liveHeap = async () => {
        const seq = ++forced;
        gw.child.child.kill('SIGUSR2');
        const line = await gw.child.waitLine(
          (o) => o.msg === 'forced full collections' && o.seq === seq,
          30_000,
        );
        return Number(line.heapUsed);
      };
      const liveBase = await liveHeap();
      const base = await heap();
      let peak = base;
      let samples = 0;
      const sampler = setInterval(() => {
        void heap().then(
          (h) => {
            peak = Math.max(peak, h);
            samples++;
          },
          () => undefined,
        );
      }, 200);
      await simControl(sim, '/flood', { kind, count, perSecond: 10_000 });
      const pgc = await db.client();
      const stored = async () =>
        kind === 'unknown-receipts'
          ? Number(
              (await pgc.query('SELECT count(DISTINCT receipt_id)::int AS n FROM parked_receipts')).rows[0].n,
            )
          : Number((await pgc.query('SELECT count(*)::int AS n FROM mo_parts')).rows[0].n) +
            Number(
              (await pgc.query('SELECT coalesce(sum(segments), 0)::int AS n FROM inbound_messages')).rows[0]
                .n,
            ) /
              3;
      let n = 0;
      await waitFor(
        () => n >= count,
        120_000,
        `${count} stored`,
        async () => {
          n = await stored();
        },
      );
      clearInterval(sampler);
      expect(gw.child.child.exitCode).toBeNull();
      expect(samples).toBeGreaterThan(5);
      // The peak in use, garbage included, only has to stay far from the heap limit (2 GB): it
      // depends on when V8 collects, i.e. on the machine (131 MB on a slow VM, where a 64-MB
      // bound on it failed at 64.5 with nothing retained). What is held is bounded by count
      // (below) and what is retained is measured once the flood has drained (the end).
      console.log(
        `${kind}: ${count} stored; gateway heap in use ${(base / 2 ** 20).toFixed(0)} MB → peak ${(peak / 2 ** 20).toFixed(0)} MB`,
      );
      expect((peak - base) / 2 ** 20).toBeLessThan(512);
      expect(await gw.metric('parley_inbound_pending')).toBeLessThanOrEqual(2_000);
      // What waits for a match or its siblings is counted once its time is up.
      if (kind === 'unknown-receipts') {
        let counted = 0;
        await waitFor(
          () => counted === count,
          60_000,
          'every flood receipt counted unmatched',
          async () => {
            counted = await gw.metric('parley_receipts_unmatched_total', 'cause="ttl"');
          },
        );
      } else {
        let delivered = 0;
        await waitFor(
          () => delivered === count,
          60_000,
          'every incomplete MO delivered',
          async () => {
            delivered = Number(
              (await pgc.query('SELECT count(*)::int AS n FROM inbound_messages WHERE NOT complete')).rows[0]
                .n,
            );
          },
        );
      }
      // What it retains once the flood has been stored and has drained: nothing of it. The defect
      // as found held ~1.5 KB a receipt (1,000/s filled a 160 MB heap in ~80 s): 60,000 would be
      // ~90 MB here, 30,000 parts ~45. Measured right after the count was reached, the live heap
      // had grown 1-15 MB (what was in flight then, bounded by count above); after the drain
      // 1.7-1.8 MB (compiled code and caches).
      const live = await liveHeap();
      console.log(
        `${kind}: drained; gateway live heap ${(liveBase / 2 ** 20).toFixed(1)} → ${(live / 2 ** 20).toFixed(1)} MB`,
      );
      expect((live - liveBase) / 2 ** 20).toBeLessThan(16);
      gw.child.child.kill('SIGTERM');
      await gw.child.exited;
    },
    300_000,
  );
});
