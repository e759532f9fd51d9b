import type { Carrier } from '../smpp/carrier.ts';

export interface RouteRule {
  /** Sending number types this rule covers; empty or absent = all. */
  numberTypes?: string[] | undefined;
  /** Destination prefixes (E.164, with +); empty or absent = all. */
  prefixes?: string[] | undefined;
  /** Carrier ids in failover order. */
  carriers: string[];
}

/**
 * Picks the carrier for a segment: the first rule whose number type and destination prefix match,
 * then the first carrier of that rule with a live transmitter bind (failover). Undefined when none
 * is bound: the segment waits and is retried until its validity runs out.
 */
export class Router {
  private readonly byId: Map<string, Carrier>;
  private readonly rules: RouteRule[];

  constructor(carriers: Carrier[], rules: RouteRule[]) {
    this.byId = new Map(carriers.map((c) => [c.cfg.id, c]));
    for (const r of rules)
      for (const id of r.carriers)
        if (!this.byId.has(id)) throw new Error(`route names unknown carrier "${id}"`);
    // Without rules every carrier is a route for everything, in configuration order.
    this.rules = rules.length > 0 ? rules : [{ carriers: carriers.map((c) => c.cfg.id) }];
  }

  candidates(numberType: string, to: string): Carrier[] {
    for (const r of this.rules) {
      if (r.numberTypes?.length && !r.numberTypes.includes(numberType)) continue;
      if (r.prefixes?.length && !r.prefixes.some((p) => to.startsWith(p))) continue;
      return r.carriers.map((id) => this.byId.get(id)!);
    }
    return [];
  }

  pick(numberType: string, to: string): Carrier | undefined {
    return this.candidates(numberType, to).find((c) => c.boundTransmitters > 0);
  }

  /** True when some carrier could take traffic now. */
  anyBound(): boolean {
    for (const c of this.byId.values()) if (c.boundTransmitters > 0) return true;
    return false;
  }
}
