import { afterAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/app.ts';
import { parseCarrierConfig } from '../../src/config/carrier-config.ts';
import { loadConfig } from '../../src/config/config.ts';
import { FuzzSmsc } from '../helpers/fuzz-smsc.ts';
import { dropSchema, testGatewayEnv, uniqueSchema } from '../helpers/services.ts';
import { silent, waitFor } from '../helpers/smpp.ts';

const SEED = Number(process.env.PARLEY_FUZZ_SEED ?? 20261202);
const COUNT = Number(process.env.PARLEY_FUZZ_COUNT ?? 20_000);

let gw: Gateway | undefined;
let smsc: FuzzSmsc | undefined;
const schema = uniqueSchema(import.meta.filename);
afterAll(async () => {
  await gw?.stop();
  await smsc?.stop();
  await dropSchema(schema);
});

describe('a hostile SMSC', () => {
  it(`${COUNT} random and mutated PDUs of every kind (seed ${SEED}): no crash, no stall, bounded memory, every accepted message final`, async () => {
    const problems: unknown[] = [];
    const onProblem = (e: unknown) => problems.push(e);
    process.on('uncaughtException', onProblem);
    process.on('unhandledRejection', onProblem);
    try {
      smsc = new FuzzSmsc(SEED);
      await smsc.start();
      const config = loadConfig(
        await testGatewayEnv({ PARLEY_RECEIPT_TIMEOUT_MS: '20000', PARLEY_RECEIPT_PARK_TTL_MS: '5000' }),
      );
      config.carriers.push(
        parseCarrierConfig({
          id: 'fuzz',
          host: '127.0.0.1',
          port: smsc.port,
          systemId: 'parley',
          password: 'x',
          windowSize: 20,
          responseTimeoutMs: 2_000,
          enquireLinkIntervalMs: 1_000,
          enquireLinkTimeoutMs: 1_000,
          reconnect: { initialMs: 20, maxMs: 200, multiplier: 2 },
          moReassemblyTimeoutMs: 1_000,
        }),
      );
      gw = await createGateway(config, silent, { schema });
      gw.start();
      const { account, apiKey } = await gw.accounts.createAccount('fuzz');
      await gw.accounts.addNumber(account.id, '+15550000000', 'local');
      await waitFor(() => gw!.carriers[0]!.healthyTransmitters > 0, 5_000, 'bound');
      const send = async (n: number, tag: string) => {
        const r = await gw!.http.inject({
          method: 'POST',
          url: '/v1/messages/batch',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          payload: {
            messages: Array.from({ length: n }, (_, i) => ({
              to: `+1415555${String(1000 + i)}`,
              body: `${tag} ${i}`,
            })),
          },
        });
        expect(r.statusCode).toBe(200);
        return (r.json().results as Array<{ id: string }>).map((x) => x.id);
      };
      const heap0 = process.memoryUsage().heapUsed;
      let heapPeak = heap0;
      const sampler = setInterval(() => {
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      }, 100);
      const ids = await send(500, 'before');
      const fuzzing = smsc.fuzz(COUNT, 5_000);
      const during: string[] = [];
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 500));
        during.push(...(await send(250, `during ${i}`)));
      }
      await fuzzing;
      // No stall: after the storm, new traffic flows through the same carrier.
      const after = await send(300, 'after');
      const all = [...ids, ...during, ...after];
      let final = 0;
      let rows: Array<{ status: string; n: number }> = [];
      await waitFor(
        () => final === all.length,
        60_000,
        'every accepted message final',
        async () => {
          rows = (
            await gw!.db.query<{ status: string; n: number }>(
              'SELECT status, count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[]) GROUP BY status',
              [all],
            )
          ).rows;
          final = rows
            .filter((r) => !['queued', 'scheduled', 'sending', 'sent'].includes(r.status))
            .reduce((a, r) => a + r.n, 0);
        },
      );
      clearInterval(sampler);
      console.log(
        `fuzz seed ${SEED}: ${JSON.stringify(smsc.stats)}; final ${JSON.stringify(rows)}; heap +${((heapPeak - heap0) / 2 ** 20).toFixed(0)} MB`,
      );
      expect(problems).toEqual([]);
      expect(smsc.stats.fuzzSent).toBeGreaterThan(COUNT * 0.9);
      expect(smsc.stats.binds).toBeGreaterThan(1); // broken frames and unbinds forced rebinds, and it came back
      // Receipts are resent until acknowledged, so a submit that reached the SMSC ends delivered.
      // A submit cut off by a dropped session twice is not risked a third time (at-most-once
      // resend): that, and only that, may end failed.
      const failed = (
        await gw.db.query<{ reason: string; n: number }>(
          "SELECT reason, count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[]) AND status <> 'delivered' GROUP BY reason",
          [all],
        )
      ).rows;
      for (const f of failed) expect(f.reason).toBe('submit_outcome_unknown');
      expect(failed.reduce((a, f) => a + f.n, 0)).toBeLessThan(all.length * 0.05);
      expect((heapPeak - heap0) / 2 ** 20).toBeLessThan(150);
      expect(gw.carriers[0]!.healthyTransmitters).toBeGreaterThan(0);
    } finally {
      process.off('uncaughtException', onProblem);
      process.off('unhandledRejection', onProblem);
    }
  }, 180_000);
});
