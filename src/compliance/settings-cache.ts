/**
 * Compliance settings read on every accept and dispatch batch: cached per account for a few
 * seconds (a change on another instance takes effect within `ttlMs`; on this one at once).
 */
import type { ComplianceSettings } from './settings.ts';

export class SettingsCache {
  private readonly entries = new Map<string, { at: number; s: ComplianceSettings }>();

  constructor(
    private readonly load: (accountIds: readonly string[]) => Promise<Map<string, ComplianceSettings>>,
    private readonly ttlMs = 5_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** Settings of these accounts; rejects when they must be loaded and the database fails. */
  async get(accountIds: readonly string[], now = Date.now()): Promise<Map<string, ComplianceSettings>> {
    const out = new Map<string, ComplianceSettings>();
    const missing: string[] = [];
    for (const id of new Set(accountIds)) {
      const e = this.entries.get(id);
      if (e && now - e.at < this.ttlMs) out.set(id, e.s);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    const loaded = await this.load(missing);
    if (this.entries.size + loaded.size > this.maxEntries) this.entries.clear();
    for (const [id, s] of loaded) {
      this.entries.set(id, { at: now, s });
      out.set(id, s);
    }
    return out;
  }

  invalidate(accountId: string): void {
    this.entries.delete(accountId);
  }
}
