import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProviderNumberType } from './provider.ts';
import { namedScenario, SCENARIO_NAMES, scenarioFromJson } from './scenario.ts';
import type { SmscSimulator } from './smsc.ts';
import type { MoRequest } from './smsc-core.ts';

const MAX_BODY = 1 << 20;

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

function parseMo(body: unknown): MoRequest {
  if (!body || typeof body !== 'object') throw new Error('body must be a JSON object');
  const b = body as Record<string, unknown>;
  for (const k of ['from', 'to', 'text'] as const)
    if (typeof b[k] !== 'string' || (k !== 'text' && !b[k])) throw new Error(`${k} must be a string`);
  const enc = b.encoding ?? 'gsm7';
  if (!['gsm7', 'ascii', 'latin1', 'ucs2'].includes(enc as string))
    throw new Error('encoding must be gsm7, ascii, latin1 or ucs2');
  const seg = b.segments ?? 1;
  if (typeof seg !== 'number' || !Number.isInteger(seg) || seg < 1 || seg > 255)
    throw new Error('segments must be an integer 1..255');
  const concat = b.concat ?? 'udh8';
  if (!['udh8', 'udh16', 'sar', 'payload'].includes(concat as string))
    throw new Error('concat must be udh8, udh16, sar or payload');
  const mo: MoRequest = {
    from: b.from as string,
    to: b.to as string,
    text: b.text as string,
    encoding: enc as MoRequest['encoding'],
    segments: seg,
    concat: concat as MoRequest['concat'],
  };
  if (typeof b.systemId === 'string') mo.systemId = b.systemId;
  for (const k of ['sourceTon', 'destTon'] as const) {
    if (b[k] === undefined) continue;
    if (typeof b[k] !== 'number' || !Number.isInteger(b[k]) || (b[k] as number) < 0 || (b[k] as number) > 6)
      throw new Error(`${k} must be an integer 0..6`);
    mo[k] = b[k] as number;
  }
  if (b.ref !== undefined) {
    if (typeof b.ref !== 'number' || !Number.isInteger(b.ref) || b.ref < 0 || b.ref > 0xffff)
      throw new Error('ref must be an integer 0..65535');
    mo.ref = b.ref;
  }
  if (b.only !== undefined) {
    if (!Array.isArray(b.only) || !b.only.every((x) => Number.isInteger(x) && x >= 1 && x <= seg))
      throw new Error('only must list part numbers 1..segments');
    mo.only = b.only as number[];
  }
  return mo;
}

/**
 * Control API on loopback: POST /mo, GET /messages, GET /stats, GET|POST /scenario, POST /reset,
 * POST /unbind, POST /disconnect. Bad input answers 400 with a message; nothing here can crash the simulator.
 */
export async function startControlServer(
  sim: SmscSimulator,
  host: string,
  port: number,
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    try {
      switch (route) {
        case 'POST /mo': {
          const parts = sim.injectMo(parseMo(await readJson(req)));
          return send(res, 202, { parts });
        }
        case 'POST /inject': {
          const body = (await readJson(req)) as { pdu?: unknown; systemId?: unknown };
          if (typeof body.pdu !== 'string' || !/^([0-9a-f]{2}){16,}$/i.test(body.pdu))
            throw new Error('pdu must be the PDU in hex (at least 16 octets)');
          sim.core.injectRaw(
            Buffer.from(body.pdu, 'hex'),
            typeof body.systemId === 'string' ? body.systemId : undefined,
          );
          return send(res, 202, { injected: 1 });
        }
        case 'POST /flood': {
          const body = (await readJson(req)) as { kind?: unknown; count?: unknown; perSecond?: unknown };
          if (body.kind !== 'unknown-receipts' && body.kind !== 'first-parts')
            throw new Error('kind must be unknown-receipts or first-parts');
          const count = Number(body.count);
          const perSecond = Number(body.perSecond ?? 1000);
          if (!Number.isInteger(count) || count < 1 || count > 10_000_000)
            throw new Error('count must be 1..10000000');
          if (!(perSecond >= 1 && perSecond <= 1_000_000)) throw new Error('perSecond must be 1..1000000');
          void sim.core.flood(body.kind, count, perSecond).catch(() => undefined);
          return send(res, 202, { flooding: count, perSecond });
        }
        case 'GET /messages': {
          // Up to the whole log (benches read a minute of submits with their times).
          const limit = Math.min(1_000_000, Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100));
          return send(res, 200, { messages: sim.core.listMessages(limit) });
        }
        case 'GET /stats':
          return send(res, 200, {
            ...sim.stats,
            bound: [...sim.core.connections].filter((c) => c.kind).length,
            scenario: sim.scenario.name,
          });
        case 'GET /scenario':
          return send(res, 200, { scenario: sim.scenario, names: SCENARIO_NAMES });
        case 'POST /scenario': {
          const body = (await readJson(req)) as Record<string, unknown>;
          const s =
            typeof body.name === 'string' && Object.keys(body).length === 1
              ? namedScenario(body.name)
              : scenarioFromJson(body);
          sim.setScenario(s);
          return send(res, 200, { scenario: s });
        }
        case 'GET /provider/numbers': {
          const q = url.searchParams;
          const type = q.get('type') ?? undefined;
          if (type !== undefined && !['local', 'toll_free', 'mobile', 'short_code'].includes(type))
            throw new Error('type must be local, toll_free, mobile or short_code');
          const numbers = sim.provider.search({
            type: type as ProviderNumberType | undefined,
            areaCode: q.get('areaCode') ?? undefined,
            region: q.get('region') ?? undefined,
            contains: q.get('contains') ?? undefined,
            limit: q.has('limit') ? Number(q.get('limit')) : undefined,
          });
          return send(res, 200, { numbers });
        }
        case 'POST /provider/purchase': {
          const b = (await readJson(req)) as { number?: unknown; monthlyCost?: unknown };
          if (typeof b.number !== 'string' || typeof b.monthlyCost !== 'string')
            throw new Error('number and monthlyCost must be strings');
          const r = sim.provider.purchase(b.number, b.monthlyCost);
          if (r.ok) return send(res, 200, r.number);
          return send(res, r.reason === 'not_found' ? 404 : 409, {
            error: r.reason,
            monthlyCost: r.monthlyCost,
          });
        }
        case 'POST /provider/release': {
          const b = (await readJson(req)) as { number?: unknown };
          if (typeof b.number !== 'string') throw new Error('number must be a string');
          return send(res, 200, { released: sim.provider.release(b.number) });
        }
        case 'POST /provider/price': {
          const b = (await readJson(req)) as { factor?: unknown };
          if (typeof b.factor !== 'number' || !(b.factor > 0 && b.factor <= 100))
            throw new Error('factor must be in (0, 100]');
          sim.provider.priceFactor = b.factor;
          return send(res, 200, { factor: b.factor });
        }
        case 'POST /registry/brands':
          await readJson(req);
          return send(res, 201, sim.registry.submitBrand());
        case 'POST /registry/toll-free':
          await readJson(req);
          return send(res, 201, sim.registry.submitTollFree());
        case 'POST /registry/campaigns':
          await readJson(req);
          return send(res, 201, sim.registry.submitCampaign());
        case 'POST /registry/assignments': {
          const b = (await readJson(req)) as { campaignId?: unknown; number?: unknown };
          if (typeof b.campaignId !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(b.campaignId))
            throw new Error('campaignId must be a registry campaign id');
          if (typeof b.number !== 'string' || !/^\+?[0-9]{3,15}$/.test(b.number))
            throw new Error('number must be digits, optionally after +');
          return send(res, 201, sim.registry.submitAssignment());
        }
        case 'POST /registry/config':
          return send(res, 200, sim.registry.configure((await readJson(req)) as Record<string, never>));
        case 'POST /reset':
          sim.reset();
          return send(res, 200, { ok: true });
        case 'POST /unbind':
          return send(res, 200, { unbound: sim.unbindAll() });
        case 'POST /disconnect':
          return send(res, 200, { dropped: sim.dropConnections() });
        default: {
          const rec = /^GET \/registry\/(brands|campaigns|toll-free|assignments)\/([A-Za-z0-9]{1,32})$/.exec(
            route,
          );
          if (rec) {
            const r = sim.registry.get(rec[2]!);
            const kind = (
              {
                brands: 'brand',
                campaigns: 'campaign',
                'toll-free': 'tollfree',
                assignments: 'assignment',
              } as const
            )[rec[1] as 'brands' | 'campaigns' | 'toll-free' | 'assignments'];
            return r && r.kind === kind ? send(res, 200, r) : send(res, 404, { error: `no such ${kind}` });
          }
          const susp = /^POST \/registry\/campaigns\/([A-Za-z0-9]{1,32})\/suspend$/.exec(route);
          if (susp) return send(res, sim.registry.suspend(susp[1]!) ? 200 : 404, { id: susp[1] });
          return send(res, 404, { error: `no route ${route}` });
        }
      }
    } catch (err) {
      const message = (err as Error).message;
      return send(res, message.startsWith('no receiver') ? 409 : 400, { error: message });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
