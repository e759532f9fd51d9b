import { afterEach } from 'vitest';
import { namedScenario, type Scenario } from '../../simulator/scenario.ts';
import { type SimulatorOptions, SmscSimulator } from '../../simulator/smsc.ts';
import { type CarrierConfigInput, parseCarrierConfig } from '../../src/config/carrier-config.ts';
import { createLogger } from '../../src/logger.ts';
import { Carrier, type SubmitOutcome } from '../../src/smpp/carrier.ts';
import { joinMoParts, type MoPart } from '../../src/smpp/inbound.ts';
import { receiptIdCandidates, submitIdKey } from '../../src/smpp/message-id.ts';
import type { Receipt } from '../../src/smpp/receipt.ts';
import type { SubmitFields } from '../../src/smpp/session-types.ts';

export const silent = createLogger({ level: process.env.PARLEY_TEST_LOG ?? 'silent' });

export async function startSimulator(
  scenario: string | Scenario = 'default',
  opts: SimulatorOptions = {},
): Promise<SmscSimulator> {
  const sim = new SmscSimulator({
    port: 0,
    seed: 42,
    scenario: typeof scenario === 'string' ? namedScenario(scenario) : scenario,
    ...opts,
  });
  await sim.start();
  return sim;
}

export function carrierConfig(port: number, over: Partial<CarrierConfigInput> = {}) {
  return parseCarrierConfig({
    id: 'sim',
    host: '127.0.0.1',
    port,
    systemId: 'parley',
    password: 'secret',
    windowSize: 10,
    responseTimeoutMs: 2_000,
    enquireLinkIntervalMs: 5_000,
    reconnect: { initialMs: 50, maxMs: 500, multiplier: 2 },
    retry: { maxTemporaryRetries: 5, maxThrottleRetries: 1000, backoffInitialMs: 10, backoffMaxMs: 100 },
    queueTimeoutMs: 10_000,
    ...over,
  });
}

/** A whole MO as the tests read it: parts of concatenated ones joined in memory. */
export interface TestMo {
  from: string;
  to: string;
  text: string;
  segments: number;
  complete: boolean;
}

/** A carrier wired to in-memory sinks, with receipt correlation that tolerates receipts arriving first. */
export class TestCarrier {
  readonly carrier: Carrier;
  readonly receipts: Receipt[] = [];
  readonly mo: TestMo[] = [];
  readonly parts: MoPart[] = [];
  private readonly groups = new Map<string, MoPart[]>();
  private waiters: Array<() => void> = [];

  constructor(cfg: ReturnType<typeof carrierConfig>) {
    this.carrier = new Carrier(
      cfg,
      {
        onReceipt: (r) => {
          this.receipts.push(r);
          this.wake();
        },
        onMo: (p) => {
          this.parts.push(p);
          const addr = (a: MoPart['from']) => (a.ton === 1 ? `+${a.addr}` : a.addr);
          if (!p.concat)
            this.mo.push({ from: addr(p.from), to: addr(p.to), text: p.text, segments: 1, complete: true });
          else {
            const key = `${p.from.addr}|${p.to.addr}|${p.concat.ref}|${p.concat.total}`;
            const list = this.groups.get(key) ?? [];
            list.push(p);
            this.groups.set(key, list);
            const j = joinMoParts(
              p.concat.total,
              list.map((x) => ({ seq: x.concat!.seq, dataCoding: x.dataCoding, text: x.text, raw: x.raw })),
            );
            if (j.complete) {
              this.groups.delete(key);
              this.mo.push({
                from: addr(p.from),
                to: addr(p.to),
                text: j.text,
                segments: p.concat.total,
                complete: true,
              });
            }
          }
          this.wake();
        },
      },
      silent,
    );
    this.carrier.start();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async waitBound(timeoutMs = 5_000): Promise<void> {
    await waitFor(
      () => this.carrier.binds.every((b) => b.currentState === 'bound'),
      timeoutMs,
      'all binds bound',
    );
  }

  submitMany(n: number, over: Partial<SubmitFields> = {}): Promise<SubmitOutcome[]> {
    return Promise.all(
      Array.from({ length: n }, (_, i) =>
        this.carrier.submit(fields(`1555${String(i).padStart(7, '0')}`, `msg ${i}`, over)),
      ),
    );
  }

  /** Receipts whose id matches one of the given submit ids, by the normalised keys. */
  matchedReceipts(ids: string[]): Set<string> {
    const keyToId = new Map<string, string>();
    for (const id of ids) keyToId.set(submitIdKey(id)!, id);
    const matched = new Set<string>();
    for (const r of this.receipts) {
      for (const k of receiptIdCandidates(r.messageId)) {
        const id = keyToId.get(k);
        if (id) {
          matched.add(id);
          break;
        }
      }
    }
    return matched;
  }

  stop(): Promise<void> {
    return this.carrier.stop(1_000);
  }
}

export function fields(to: string, text: string, over: Partial<SubmitFields> = {}): SubmitFields {
  return {
    serviceType: '',
    sourceAddr: '12345',
    sourceAddrTon: 0,
    sourceAddrNpi: 0,
    destinationAddr: to,
    destAddrTon: 1,
    destAddrNpi: 1,
    esmClass: 0,
    protocolId: 0,
    priorityFlag: 0,
    validityPeriod: '',
    registeredDelivery: 1,
    dataCoding: 0,
    shortMessage: Buffer.from(text, 'latin1'),
    ...over,
  };
}

export async function waitFor(
  cond: () => boolean,
  timeoutMs: number,
  what: string,
  poll?: () => Promise<void>,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (poll) await poll();
    if (cond()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, poll ? 50 : 10));
  }
}

export function tally(outcomes: SubmitOutcome[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.kind === 'ok' ? 'ok' : `${o.kind}:${o.code}`;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}

export function okIds(outcomes: SubmitOutcome[]): string[] {
  return outcomes.flatMap((o) => (o.kind === 'ok' ? [o.messageId] : []));
}

/** A simulator and a carrier for one test each, stopped after every test. */
export function simHarness(): { sim: SmscSimulator | undefined; tc: TestCarrier | undefined } {
  const h: { sim: SmscSimulator | undefined; tc: TestCarrier | undefined } = {
    sim: undefined,
    tc: undefined,
  };
  afterEach(async () => {
    await h.tc?.stop();
    await h.sim?.stop();
    h.tc = undefined;
    h.sim = undefined;
  });
  return h;
}
