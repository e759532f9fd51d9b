import type { EncodeProfile } from './model.ts';
import type { CarrierLink } from './ports.ts';

export interface RouteRule {
  /** Sending number types this rule covers; empty or absent = all. */
  numberTypes?: readonly string[] | undefined;
  /** Destination prefixes (E.164, with +); empty or absent = all. */
  prefixes?: readonly string[] | undefined;
  /** Carrier ids in failover order. */
  carriers: readonly string[];
}

/**
 * Picks the carrier for a segment: the first rule whose number type and destination prefix match,
 * then the first carrier of that rule with a healthy transmitter (failover). Undefined when none
 * is: the segment waits and is retried until its validity runs out.
 */
export class Router {
  private readonly byId: Map<string, CarrierLink>;
  private readonly rules: RouteRule[];

  /** Throws when a rule names a carrier that does not exist (config validation catches it first). */
  constructor(carriers: readonly CarrierLink[], rules: readonly RouteRule[]) {
    this.byId = new Map(carriers.map((c) => [c.id, c]));
    for (const r of rules)
      for (const id of r.carriers)
        if (!this.byId.has(id)) throw new Error(`route names unknown carrier "${id}"`);
    // Without rules every carrier is a route for everything, in configuration order.
    this.rules = rules.length > 0 ? [...rules] : [{ carriers: carriers.map((c) => c.id) }];
  }

  candidates(numberType: string, to: string): CarrierLink[] {
    for (const r of this.rules) {
      if (r.numberTypes?.length && !r.numberTypes.includes(numberType)) continue;
      if (r.prefixes?.length && !r.prefixes.some((p) => to.startsWith(p))) continue;
      return r.carriers.map((id) => this.byId.get(id)!);
    }
    return [];
  }

  pick(numberType: string, to: string): CarrierLink | undefined {
    return this.candidates(numberType, to).find((c) => c.healthyTransmitters > 0);
  }

  /** The profile of the route's first carrier, to encode for at accept (undefined: no route). */
  primaryProfile(numberType: string, to: string): EncodeProfile | undefined {
    return this.candidates(numberType, to)[0]?.profile;
  }

  /** True when some carrier could take traffic now. */
  anyBound(): boolean {
    for (const c of this.byId.values()) if (c.healthyTransmitters > 0) return true;
    return false;
  }
}
