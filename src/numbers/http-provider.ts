import { AppError } from '../errors/app-error.ts';
import { NUMBER_TYPES } from '../messaging/vocabulary.ts';
import { jsonCall } from './json-call.ts';
import type { AvailableNumber, NumberProvider, NumberSearch, PurchaseResult } from './provider.ts';

const isType = (t: unknown): t is AvailableNumber['type'] => NUMBER_TYPES.includes(t as never);

/** Keeps only well-formed numbers from the provider's answer (it is outside input too). */
function toAvailable(x: unknown): AvailableNumber | undefined {
  const n = x as Record<string, unknown>;
  if (!n || typeof n.number !== 'string' || !isType(n.type) || typeof n.monthlyCost !== 'string')
    return undefined;
  if (!/^\d+(\.\d{1,4})?$/.test(n.monthlyCost)) return undefined;
  const caps = (n.capabilities ?? {}) as Record<string, unknown>;
  return {
    number: n.number,
    type: n.type,
    region: typeof n.region === 'string' ? n.region : null,
    locality: typeof n.locality === 'string' ? n.locality : null,
    monthlyCost: n.monthlyCost,
    currency: typeof n.currency === 'string' ? n.currency : 'USD',
    capabilities: { sms: caps.sms === true, mms: caps.mms === true, voice: caps.voice === true },
  };
}

/**
 * The bundled simulator's provider API over HTTP (GET /provider/numbers, POST /provider/purchase,
 * POST /provider/release), each call bounded by `timeoutMs`.
 */
export class HttpNumberProvider implements NumberProvider {
  constructor(
    private readonly base: string,
    private readonly timeoutMs = 5_000,
  ) {}

  private async call(method: 'GET' | 'POST', path: string, body?: unknown) {
    try {
      return await jsonCall(this.base, method, path, body, this.timeoutMs);
    } catch (err) {
      throw new AppError(
        'NUMBER_PROVIDER_UNAVAILABLE',
        `the number provider did not answer: ${(err as Error).message}`,
      );
    }
  }

  async search(q: NumberSearch): Promise<AvailableNumber[]> {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
    const r = await this.call('GET', `/provider/numbers?${p}`);
    if (r.status !== 200 || !Array.isArray(r.json.numbers))
      throw new AppError('NUMBER_PROVIDER_UNAVAILABLE', `the number provider answered ${r.status}`);
    return (r.json.numbers as unknown[])
      .map(toAvailable)
      .filter((x): x is AvailableNumber => x !== undefined);
  }

  async purchase(number: string, monthlyCost: string): Promise<PurchaseResult> {
    const r = await this.call('POST', '/provider/purchase', { number, monthlyCost });
    if (r.status === 200) {
      const n = toAvailable(r.json);
      if (n) return { ok: true, number: n };
    }
    if (r.status === 404) return { ok: false, reason: 'not_found' };
    if (r.status === 409 && (r.json.error === 'price_changed' || r.json.error === 'unavailable'))
      return {
        ok: false,
        reason: r.json.error,
        monthlyCost: typeof r.json.monthlyCost === 'string' ? r.json.monthlyCost : undefined,
      };
    throw new AppError('NUMBER_PROVIDER_UNAVAILABLE', `the number provider answered ${r.status}`);
  }

  async release(number: string): Promise<void> {
    const r = await this.call('POST', '/provider/release', { number });
    if (r.status !== 200)
      throw new AppError('NUMBER_PROVIDER_UNAVAILABLE', `the number provider answered ${r.status}`);
  }
}
