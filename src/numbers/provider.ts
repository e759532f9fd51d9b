/**
 * Where numbers are bought: the port the API uses, implemented against the bundled simulator's
 * provider API (src/numbers/http-provider.ts); a real provider plugs in behind the same interface.
 */
import type { NumberType } from '../messaging/vocabulary.ts';

export interface AvailableNumber {
  number: string;
  type: NumberType;
  region: string | null;
  locality: string | null;
  monthlyCost: string;
  currency: string;
  capabilities: { sms: boolean; mms: boolean; voice: boolean };
}

export interface NumberSearch {
  type?: NumberType | undefined;
  areaCode?: string | undefined;
  region?: string | undefined;
  contains?: string | undefined;
  limit?: number | undefined;
}

export type PurchaseResult =
  | { ok: true; number: AvailableNumber }
  | { ok: false; reason: 'not_found' | 'unavailable' | 'price_changed'; monthlyCost?: string | undefined };

/** Every method rejects with an AppError NUMBER_PROVIDER_UNAVAILABLE when the provider cannot be asked. */
export interface NumberProvider {
  search(q: NumberSearch): Promise<AvailableNumber[]>;
  /** Buys at the quoted monthly cost only. */
  purchase(number: string, monthlyCost: string): Promise<PurchaseResult>;
  release(number: string): Promise<void>;
}
