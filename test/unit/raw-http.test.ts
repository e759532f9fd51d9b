import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawHttpPool } from '../../bench/lib/raw-http.ts';

/**
 * The load generator's own HTTP client against undici (the oracle): the same requests, the same
 * statuses, the same bodies received by the server, over every framing a reply can use.
 */
let server: http.Server;
let url: string;
const seen: Array<{ path: string; auth: string | undefined; body: string }> = [];
let watching: Set<unknown> | undefined;
let maxOpenSockets = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const path = req.url ?? '';
      seen.push({ path, auth: req.headers.authorization, body });
      let valid = true;
      try {
        JSON.parse(body);
      } catch {
        valid = false;
      }
      const status = valid ? 202 : 400;
      switch (path.split('?')[0]) {
        case '/chunked': {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.write('{"a":');
          setTimeout(() => res.end('1}'), 2);
          return;
        }
        case '/chunked-tricky': {
          // Chunk data that holds "0\r\n\r\n", then a chunk of 0x20 bytes starting with CRLF
          // (its size line and data read "20\r\n\r\n"): neither ends the body. Written apart,
          // so that a reader ending early sees the rest as the next request's reply.
          res.writeHead(status, { 'content-type': 'text/plain' });
          res.write('x0\r\n\r\ny');
          setTimeout(() => {
            res.write(`\r\n${'z'.repeat(30)}`);
            setTimeout(() => res.end(), 2);
          }, 2);
          return;
        }
        case '/bad-chunk':
          req.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n');
          return;
        case '/empty':
          res.writeHead(204).end();
          return;
        case '/close':
          res.writeHead(503, { connection: 'close', 'content-type': 'application/json' });
          res.end('{"error":{"code":"DATABASE_UNAVAILABLE"}}');
          return;
        case '/split': {
          const payload = Buffer.from(JSON.stringify({ id: 'x'.repeat(100), é: 'ü' }));
          res.writeHead(status, { 'content-length': payload.length });
          res.flushHeaders();
          // Chained: two timers of 1 and 3 ms fired in the other order on a starved CPU (the
          // body's end before its start: a reply that never completes).
          setTimeout(() => {
            res.write(payload.subarray(0, 7));
            setTimeout(() => res.end(payload.subarray(7)), 2);
          }, 1);
          return;
        }
        case '/big': {
          const payload = Buffer.alloc(300_000, 'a');
          res.writeHead(status, { 'content-length': payload.length }).end(payload);
          return;
        }
        case '/reset':
          req.socket.destroy();
          return;
        default:
          res.writeHead(status, { 'content-type': 'application/json' }).end('{"id":"m1","status":"queued"}');
      }
    });
  });
  // Framing is under test, not keep-alive expiry: a CI stall longer than Node's default 5 s
  // between a reply and the next request would close the connection under the request.
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s) => {
    // Only the sockets a test opens while it watches (those of the tests before it may still be
    // closing on the server's side).
    const watched = watching;
    if (!watched) return;
    watched.add(s);
    maxOpenSockets = Math.max(maxOpenSockets, watched.size);
    s.on('close', () => watched.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const headers = { authorization: 'Bearer k-123', 'content-type': 'application/json' };

async function viaUndici(pool: Pool, path: string, body: string): Promise<number | 'error'> {
  try {
    const res = await pool.request({ path, method: 'POST', headers, body });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 'error';
  }
}

/** Why each raw request failed, for the assertion's message. */
const rawErrors: string[] = [];
const viaRaw = (pool: RawHttpPool, path: string, body: string): Promise<number | 'error'> =>
  pool.post(path, headers, body).catch((err: Error) => {
    rawErrors.push(`${path}: ${err.message}`);
    return 'error' as const;
  });

describe('RawHttpPool (bench load generator) against undici', () => {
  it('answers every framing with the status undici reads, and the server receives the same requests', async () => {
    const paths = ['/v1/messages', '/chunked', '/empty', '/close', '/split', '/big', '/v1/messages?x=1'];
    // Deterministic pseudo-random mix: paths, bodies of 0–2,000 bytes with multi-byte text, some
    // not JSON (400).
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const cases = Array.from({ length: 300 }, (_, i) => {
      const path = paths[Math.floor(rnd() * paths.length)]!;
      const text = 'héllo ✓ 𝄞 '.repeat(Math.floor(rnd() * 150));
      const body = rnd() < 0.1 ? `{not json ${i}` : JSON.stringify({ to: `+1415555${i}`, body: text });
      return { path, body };
    });
    const undici = new Pool(url, { connections: 4, pipelining: 1 });
    const raw = new RawHttpPool(url, 4);
    try {
      seen.length = 0;
      const expected = await Promise.all(cases.map((c) => viaUndici(undici, c.path, c.body)));
      const fromUndici = seen
        .splice(0)
        .sort((a, b) => a.body.localeCompare(b.body) || a.path.localeCompare(b.path));
      const got = await Promise.all(cases.map((c) => viaRaw(raw, c.path, c.body)));
      const fromRaw = seen
        .splice(0)
        .sort((a, b) => a.body.localeCompare(b.body) || a.path.localeCompare(b.path));
      expect(got, rawErrors.join('; ')).toEqual(expected);
      expect(new Set(got)).toEqual(new Set([202, 400, 204, 503]));
      expect(fromRaw).toEqual(fromUndici);
      expect(fromRaw).toHaveLength(cases.length);
    } finally {
      raw.close();
      await undici.close();
    }
  });

  it('holds at most `connections` sockets, queues the rest in order and answers them all', async () => {
    watching = new Set();
    maxOpenSockets = 0;
    const raw = new RawHttpPool(url, 3);
    try {
      const got = await Promise.all(
        Array.from({ length: 60 }, (_, i) => raw.post('/split', headers, JSON.stringify({ i }))),
      );
      expect(got.every((s) => s === 202)).toBe(true);
      expect(maxOpenSockets).toBeGreaterThan(0);
      expect(maxOpenSockets).toBeLessThanOrEqual(3);
    } finally {
      watching = undefined;
      raw.close();
    }
  });

  it('rejects a request whose connection is reset, and the requests after it still get answers', async () => {
    const undici = new Pool(url, { connections: 2, pipelining: 1 });
    const raw = new RawHttpPool(url, 2);
    try {
      const seq = ['/v1/messages', '/reset', '/v1/messages', '/reset', '/close', '/v1/messages'];
      const expected: Array<number | 'error'> = [];
      for (const p of seq) expected.push(await viaUndici(undici, p, '{}'));
      const got: Array<number | 'error'> = [];
      for (const p of seq) got.push(await viaRaw(raw, p, '{}'));
      expect(got).toEqual(expected);
      expect(got).toEqual([202, 'error', 202, 'error', 503, 202]);
    } finally {
      raw.close();
      await undici.close();
    }
  });

  it('reads a chunked body by its chunk sizes, whatever the chunks hold (regression: ended at "0\\r\\n\\r\\n" in the data)', async () => {
    const undici = new Pool(url, { connections: 1, pipelining: 1 });
    const raw = new RawHttpPool(url, 1);
    try {
      const seq = ['/chunked-tricky', '/v1/messages', '/chunked-tricky', '/v1/messages'];
      const expected: Array<number | 'error'> = [];
      for (const p of seq) expected.push(await viaUndici(undici, p, '{}'));
      const got: Array<number | 'error'> = [];
      for (const p of seq) got.push(await viaRaw(raw, p, '{}'));
      expect(got, rawErrors.join('; ')).toEqual(expected);
      expect(got).toEqual([202, 202, 202, 202]);
    } finally {
      raw.close();
      await undici.close();
    }
  });

  it('rejects a reply with a malformed chunk size, and the next request gets its answer', async () => {
    const raw = new RawHttpPool(url, 1);
    try {
      await expect(raw.post('/bad-chunk', headers, '{}')).rejects.toThrow(/bad chunk size/);
      expect(await raw.post('/v1/messages', headers, '{}')).toBe(202);
    } finally {
      raw.close();
    }
  });

  it('refuses an https URL (plain HTTP only) and rejects what is queued on close', async () => {
    expect(() => new RawHttpPool('https://127.0.0.1:1', 1)).toThrow(/http only/);
    const raw = new RawHttpPool(url, 1);
    const first = raw.post('/chunked', headers, '{}');
    const queued = raw.post('/v1/messages', headers, '{}');
    raw.close();
    await expect(queued).rejects.toThrow(/pool closed/);
    await expect(first).rejects.toThrow();
  });
});
