import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ComplianceSettings } from './compliance/settings.ts';
import type { AppConfig } from './config/config.ts';
import type { AccountsRepo } from './store/accounts-repo.ts';

/** What the demo needs of the compliance settings store. */
export interface DemoSettings {
  settings(accountIds: readonly string[]): Promise<Map<string, ComplianceSettings>>;
  putSettings(accountId: string, s: ComplianceSettings): Promise<void>;
}

export interface Demo {
  apiUrl: string;
  apiKey: string;
  accountId: string;
  number: string;
  simulatorControlUrl: string;
}

/**
 * On the first embedded start (no accounts yet) creates a demo account with a number on the
 * simulator (and a business name, so first messages do not warn), registered under an approved
 * demo brand and campaign (so the registration gate lets it send), and writes
 * $PARLEY_DATA_DIR/demo.json; later starts read it back. The API key exists in clear only in that
 * file. Rejects when the database fails.
 */
export async function prepareDemo(
  accounts: AccountsRepo,
  compliance: DemoSettings,
  config: AppConfig,
  apiUrl: string,
  simulatorControlUrl: string,
  /** Registers the demo number (an approved demo brand and campaign): it may send with the gate on. */
  registerNumber: (accountId: string, e164: string) => Promise<void> = async () => undefined,
): Promise<Demo> {
  mkdirSync(config.dataDir, { recursive: true });
  const file = path.join(config.dataDir, 'demo.json');
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Demo;
    if (saved.accountId && (await accounts.getAccount(saved.accountId))) {
      await registerNumber(saved.accountId, saved.number);
      const demo = { ...saved, apiUrl, simulatorControlUrl };
      writeFileSync(file, `${JSON.stringify(demo, null, 2)}\n`);
      return demo;
    }
  } catch {
    // no demo yet
  }
  const { account, apiKey } = await accounts.createAccount('Demo');
  // 555-01xx is reserved for fiction; take the first one no account has yet.
  let number = '';
  for (let n = 1; n < 100 && !number; n++) {
    const candidate = `+155501000${String(n).padStart(2, '0')}`;
    try {
      await accounts.addNumber(account.id, candidate, 'local');
      number = candidate;
    } catch (err) {
      if ((err as { code?: string }).code !== 'NUMBER_TAKEN') throw err;
    }
  }
  if (!number) throw new Error('no free demo number in +1 555 010 0001..0099');
  await registerNumber(account.id, number);
  const current = (await compliance.settings([account.id])).get(account.id)!;
  await compliance.putSettings(account.id, { ...current, businessName: 'Parley Demo' });
  const demo: Demo = { apiUrl, apiKey, accountId: account.id, number, simulatorControlUrl };
  writeFileSync(file, `${JSON.stringify(demo, null, 2)}\n`, { mode: 0o600 });
  return demo;
}
