import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../simulator/smsc.ts';
import { createGateway, type Gateway } from '../../src/app.ts';
import { parseCarrierConfig } from '../../src/config/carrier-config.ts';
import { loadConfig } from '../../src/config/config.ts';
import { silent, waitFor } from '../helpers/smpp.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-embedded-'));
let gw: Gateway | undefined;
let sim: SmscSimulator | undefined;
afterAll(async () => {
  await gw?.stop();
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('embedded defaults (what npm start uses with nothing configured)', () => {
  it('runs the whole send path on PGlite with in-process parking', async () => {
    const config = loadConfig({ PARLEY_DATA_DIR: dir, LOG_LEVEL: 'silent' });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    sim = new SmscSimulator({ port: 0, systemId: 'parley', password: 'parley' });
    await sim.start();
    config.carriers.push(
      parseCarrierConfig({
        id: 'simulator',
        host: '127.0.0.1',
        port: sim.port,
        systemId: 'parley',
        password: 'parley',
      }),
    );
    gw = await createGateway(config, silent);
    expect(gw.db.kind).toBe('pglite');
    gw.start();
    const { account, apiKey } = await gw.accounts.createAccount('Embedded');
    await gw.accounts.addNumber(account.id, '+15550100042', 'local');
    // The registration gate is on by default: register the number as the demo does.
    await gw.campaigns.registerDemo(account.id, '+15550100042');
    const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    // Quiet hours are on by default; this test is about the send path at any hour of the day.
    const off = await gw.http.inject({
      method: 'PUT',
      url: '/v1/settings/messaging-compliance',
      headers: auth,
      payload: { quietHours: { enabled: false } },
    });
    expect(off.json(), off.body).toMatchObject({ quietHours: { enabled: false } });
    expect(off.json().quietHours).toMatchObject({ enabled: false, start: '08:00', end: '21:00' });
    const r = await gw.http.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: auth,
      payload: { to: '+14155550123', body: 'hello from PGlite 😀' },
    });
    expect(r.statusCode).toBe(202);
    const id = r.json().id as string;
    let status = '';
    await waitFor(
      () => status === 'delivered',
      15_000,
      'delivered on PGlite',
      async () => {
        status = (await gw!.http.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: auth })).json()
          .status;
      },
    );
    const b = await gw.http.inject({
      method: 'POST',
      url: '/v1/messages/batch',
      headers: auth,
      payload: {
        messages: [
          { to: '+14155550124', body: 'a' },
          { to: 'x', body: 'b' },
        ],
      },
    });
    expect(b.json()).toMatchObject({ accepted: 1, rejected: 1 });
  }, 60_000);
});
