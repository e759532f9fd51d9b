import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpRegistry } from '../../src/numbers/registry.ts';

/** A registry that answers whatever the test sets, as a hostile or broken one might. */
let answer: { status: number; body: string } = { status: 200, body: '{}' };
let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (answer.status === 0) return; // never answers
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

describe('the registry client on number assignments', () => {
  it('reads approved, rejected (reason cut to 500 characters) and unknown (404) reviews', async () => {
    const reg = new HttpRegistry(base, 500);
    answer = { status: 201, body: JSON.stringify({ id: 'N000001' }) };
    expect(await reg.submitAssignment('C000001', '+15125550100')).toEqual({ registryId: 'N000001' });
    answer = { status: 200, body: JSON.stringify({ status: 'approved', reason: null }) };
    expect(await reg.assignment('N000001')).toEqual({ status: 'approved', reason: null });
    answer = {
      status: 200,
      body: JSON.stringify({ status: 'rejected', reason: `x\u0000${'y'.repeat(10_000)}` }),
    };
    const r = await reg.assignment('N000001');
    expect(r?.status).toBe('rejected');
    expect(r?.reason).toHaveLength(500);
    // PostgreSQL text cannot hold U+0000: control characters never reach the store.
    expect(r?.reason).not.toContain('\u0000');
    answer = { status: 404, body: '{}' };
    expect(await reg.assignment('N404')).toBeUndefined();
  });

  it('turns every malformed or missing answer into REGISTRY_UNAVAILABLE, never a crash', async () => {
    const reg = new HttpRegistry(base, 300);
    const hostile = [
      { status: 200, body: '{not json' },
      { status: 200, body: JSON.stringify({ status: 'suspended' }) },
      { status: 200, body: JSON.stringify({ status: 42 }) },
      { status: 200, body: 'null' },
      { status: 500, body: JSON.stringify({ status: 'approved' }) },
      { status: 0, body: '' },
    ];
    for (const a of hostile) {
      answer = a;
      await expect(reg.assignment('N000001'), JSON.stringify(a)).rejects.toMatchObject({
        code: 'REGISTRY_UNAVAILABLE',
      });
    }
    for (const a of [
      { status: 201, body: JSON.stringify({ id: 7 }) },
      { status: 200, body: JSON.stringify({ id: 'N1' }) },
      { status: 201, body: '[]' },
    ]) {
      answer = a;
      await expect(reg.submitAssignment('C1', '+15125550100'), JSON.stringify(a)).rejects.toMatchObject({
        code: 'REGISTRY_UNAVAILABLE',
      });
    }
  });
});
