// A connection can drop after PostgreSQL committed a statement and before its answer arrived: the
// gateway sees an error for something that happened. These tests lose exactly that answer.
import { afterEach, describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../simulator/smsc.ts';
import { createGateway, type Gateway } from '../../src/app.ts';
import { parseCarrierConfig } from '../../src/config/carrier-config.ts';
import { loadConfig } from '../../src/config/config.ts';
import { type Db, openDb, type Queryable } from '../../src/store/db.ts';
import { dropSchema, testGatewayEnv, uniqueSchema } from '../helpers/services.ts';
import { silent, waitFor } from '../helpers/smpp.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * `db`, except that the next `lose[name]` statements of that name that returned rows (did
 * something) commit and then fail as a dropped connection would, alone or in a session (the
 * outcome write); in a transaction the failure rolls the transaction back instead.
 */
function losingAnswers(db: Db, lose: Record<string, number>): Db {
  const losing = (q: Queryable): Queryable => ({
    query: async <T>(sql: string, params?: unknown[], name?: string) => {
      const r = await q.query<T>(sql, params, name);
      if (name && (lose[name] ?? 0) > 0 && r.rows.length > 0) {
        lose[name]!--;
        throw new Error('Connection terminated unexpectedly');
      }
      return r;
    },
  });
  const top = losing(db);
  return {
    kind: db.kind,
    tx: (fn) => db.tx((q) => fn(losing(q))),
    session: (fn) => db.session((q) => fn(losing(q))),
    exec: (sql) => db.exec(sql),
    warm: () => db.warm(),
    close: () => db.close(),
    query: top.query,
  } as Db;
}

/** A gateway on the simulator whose database loses the answers `lose` names. */
async function gateway(tag: string) {
  const sim = new SmscSimulator({ port: 0, systemId: 'parley', password: 'parley' });
  await sim.start();
  const config = loadConfig(await testGatewayEnv());
  config.carriers.push(
    parseCarrierConfig({
      id: 'sim',
      host: '127.0.0.1',
      port: sim.port,
      systemId: 'parley',
      password: 'parley',
    }),
  );
  const schema = uniqueSchema(`${import.meta.filename}-${tag}`);
  const real = await openDb({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    schema,
    statementTimeoutMs: 5_000,
  });
  const lose: Record<string, number> = {};
  const gw: Gateway = await createGateway(config, silent, { schema, db: losingAnswers(real, lose) });
  gw.start();
  cleanups.push(async () => {
    await gw.stop();
    await sim.stop();
    // The gateway was given this database: it does not close it.
    await real.close();
    await dropSchema(schema);
  });
  const { account, apiKey } = await gw.accounts.createAccount(`lost-${tag}`);
  await gw.accounts.addNumber(account.id, '+15550106611', 'local');
  await waitFor(() => gw.carriers[0]!.healthyTransmitters > 0, 5_000, 'bind');

  return { gw, sim, real, lose, apiKey };
}

/** Sends `n` messages in one batch request; their ids. */
async function sendBatch(gw: Gateway, apiKey: string, n: number, tag: string): Promise<string[]> {
  const r = await gw.http.inject({
    method: 'POST',
    url: '/v1/messages/batch',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    payload: {
      messages: Array.from({ length: n }, (_, i) => ({ to: `+1415556${1000 + i}`, body: `${tag}${i}` })),
    },
  });
  expect(r.statusCode).toBe(200);
  return (r.json().results as Array<{ id: string }>).map((x) => x.id);
}

/** Waits until every message of `ids` is delivered. */
async function waitDelivered(real: Db, ids: string[], timeoutMs = 20_000): Promise<void> {
  let delivered = 0;
  await waitFor(
    () => delivered === ids.length,
    timeoutMs,
    'all delivered',
    async () => {
      delivered = (
        await real.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[]) AND status = 'delivered'",
          [ids],
        )
      ).rows[0]!.n;
    },
  );
}

describe('answers lost after the commit', () => {
  // Regression (issue 6, found by the 3-cuts outage test under load): a claim committed while its
  // answer was lost left its segments leased and never submitted, stuck `sending` for the whole
  // lease (120 s), then resent marked as possible duplicates although they were never sent.
  it('a claim whose answer is lost goes back to the queue at once, its segments sent once', async () => {
    const { gw, sim, real, lose, apiKey } = await gateway('claim');
    lose.parley_claim = 1;
    const ids = await sendBatch(gw, apiKey, 20, 'm');
    // Far inside the 120 s lease: the claim was undone, not waited out.
    await waitDelivered(real, ids, 15_000);
    expect(lose.parley_claim).toBe(0);
    const segs = await real.query<{ attempts: number; resends: number; possible_duplicate: boolean }>(
      'SELECT attempts, resends, possible_duplicate FROM segments WHERE message_id = ANY($1::uuid[])',
      [ids],
    );
    expect(segs.rows.every((s) => s.attempts === 1 && s.resends === 0 && !s.possible_duplicate)).toBe(true);
    expect(sim.stats.submits).toBe(20);
  }, 60_000);

  // Regression (issue 6): an insert committed while its answer was lost was answered 503 ("nothing
  // was stored, try again"): the client's retry sent the message twice.
  it('an accept whose answer is lost is looked up and answered 202, stored once', async () => {
    const { gw, sim, real, lose, apiKey } = await gateway('accept');
    lose.parley_insert_drafts = 1;
    const r = await gw.http.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      payload: { to: '+14155551999', body: 'once' },
    });
    expect(lose.parley_insert_drafts).toBe(0);
    expect(r.statusCode).toBe(202);
    const id = r.json().id as string;
    let status = '';
    await waitFor(
      () => status === 'delivered',
      10_000,
      'delivered',
      async () => {
        status = (await real.query<{ status: string }>('SELECT status FROM messages WHERE id = $1', [id]))
          .rows[0]!.status;
      },
    );
    const n = await real.query<{ n: number }>("SELECT count(*)::int AS n FROM messages WHERE body = 'once'");
    expect(n.rows[0]!.n).toBe(1);
    expect(sim.stats.submits).toBe(1);
  }, 60_000);

  // The outcome statement commits on its own (outside a transaction): a lost answer is written
  // again. The second write must move nothing that the first (or a receipt since) moved, and the
  // message must neither be resent nor stay `sending`.
  it('an outcome write whose answer is lost is written again, nothing resent or moved back', async () => {
    const { gw, sim, real, lose, apiKey } = await gateway('outcome');
    lose.parley_outcomes = 1;
    const ids = await sendBatch(gw, apiKey, 20, 'o');
    await waitDelivered(real, ids);
    expect(lose.parley_outcomes).toBe(0);
    const segs = await real.query<{
      attempts: number;
      resends: number;
      status: string;
      smsc_id: string | null;
    }>('SELECT attempts, resends, status, smsc_id FROM segments WHERE message_id = ANY($1::uuid[])', [ids]);
    expect(segs.rows).toHaveLength(20);
    expect(segs.rows.every((s) => s.attempts === 1 && s.resends === 0 && s.status === 'delivered')).toBe(
      true,
    );
    expect(segs.rows.every((s) => s.smsc_id !== null)).toBe(true);
    expect(sim.stats.submits).toBe(20);
    const parked = await real.query<{ n: number }>('SELECT count(*)::int AS n FROM parked_receipts');
    expect(parked.rows[0]!.n).toBe(0);
  }, 60_000);

  // A receipt batch committed while its answer was lost: the SMSC is answered with a temporary
  // error and sends the receipts again; the second time they must match (not be parked as
  // unknown ids and expire unmatched) and move nothing.
  it('receipts whose answer is lost are sent again by the SMSC and match, none parked', async () => {
    const { gw, sim, real, lose, apiKey } = await gateway('receipts');
    lose.parley_receipts = 1;
    const ids = await sendBatch(gw, apiKey, 20, 'r');
    await waitDelivered(real, ids);
    expect(lose.parley_receipts).toBe(0);
    // Every receipt answered once with success; those of the lost batch first with an error.
    await waitFor(() => sim.stats.receiptResps === 20, 10_000, 'every receipt acknowledged');
    expect(sim.stats.receiptRespErrors).toBeGreaterThan(0);
    expect(sim.stats.redelivered).toBe(sim.stats.receiptRespErrors);
    expect(sim.stats.deliverRejected).toBe(0);
    const parked = await real.query<{ n: number }>('SELECT count(*)::int AS n FROM parked_receipts');
    expect(parked.rows[0]!.n).toBe(0);
    const events = await real.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM segments WHERE message_id = ANY($1::uuid[]) AND status = 'delivered'",
      [ids],
    );
    expect(events.rows[0]!.n).toBe(20);
  }, 60_000);
});
