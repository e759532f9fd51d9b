/**
 * Compliance settings read on every accept and dispatch batch: cached per account for a few
 * seconds (a change on another instance takes effect within `ttlMs`; on this one at once).
 */
import { TtlBatchCache } from '../messaging/ttl-cache.ts';
import type { ComplianceSettings } from './settings.ts';

export class SettingsCache extends TtlBatchCache<ComplianceSettings> {
  constructor(
    load: (accountIds: readonly string[]) => Promise<Map<string, ComplianceSettings>>,
    ttlMs = 5_000,
    maxEntries = 10_000,
  ) {
    super(load, ttlMs, maxEntries);
  }
}
