/**
 * Operator CLI over the admin API: `npm run cli -- account create --name NAME [--json]`,
 * `npm run cli -- number add --account ID --number +1… --type local|toll_free|short_code|mobile [--json]`,
 * `npm run cli -- number limit --number +1… --max-sps N|default` (the number's own rate limit),
 * `npm run cli -- key create|list --account ID [--json]`, `npm run cli -- key revoke KEY_ID`,
 * `npm run cli -- receipts unmatched [--limit N]`,
 * `npm run cli -- contacts import-opt-outs --account ID --file numbers.txt` (one number per line;
 * a CSV's first column).
 * Finds the gateway by PARLEY_URL (default http://127.0.0.1:3000) and authenticates with
 * PARLEY_ADMIN_TOKEN. Exits 1 with the API's error message on failure.
 */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { loadCliConfig } from '../config/cli-config.ts';
import { NUMBER_TYPES } from '../messaging/vocabulary.ts';

const cfg = loadCliConfig();

async function call(path: string, body?: unknown, method = 'POST'): Promise<Record<string, unknown>> {
  if (!cfg.adminToken) fail('set PARLEY_ADMIN_TOKEN to the gateway admin token');
  let res: Response;
  try {
    res = await fetch(`${cfg.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${cfg.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    fail(`cannot reach the gateway at ${cfg.url} (set PARLEY_URL): ${(err as Error).message}`);
  }
  const json = (res.status === 204 ? {} : await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const e = json.error as { code?: string; message?: string } | undefined;
    fail(`${e?.code ?? `HTTP ${res.status}`}: ${e?.message ?? 'request failed'}`);
  }
  return json;
}

function fail(msg: string): never {
  process.stderr.write(`parley: ${msg}\n`);
  process.exit(1);
}

const program = new Command('parley').description('Parley operator CLI').showHelpAfterError();

const account = program.command('account').description('accounts');
account
  .command('create')
  .description('create an account and print its id and API key (shown once)')
  .requiredOption('--name <name>', 'account name')
  .option('--json', 'print {"id", "apiKey"} as JSON')
  .action(async (o: { name: string; json?: boolean }) => {
    const r = await call('/v1/admin/accounts', { name: o.name });
    if (o.json) process.stdout.write(`${JSON.stringify({ id: r.id, apiKey: r.apiKey })}\n`);
    else process.stdout.write(`account ${r.id}\napi key  ${r.apiKey}\n(the key is shown only now)\n`);
  });

const number = program.command('number').description('sending numbers');
number
  .command('add')
  .description('add a sending number to an account')
  .requiredOption('--account <id>', 'account id')
  .requiredOption('--number <number>', 'E.164 number, or digits for a short code')
  .addOption(new Option('--type <type>', 'number type').choices([...NUMBER_TYPES]).makeOptionMandatory())
  .option('--json', 'print the number as JSON')
  .action(async (o: { account: string; number: string; type: string; json?: boolean }) => {
    const r = await call('/v1/admin/numbers', { accountId: o.account, number: o.number, type: o.type });
    if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(`number ${r.number} (${r.type}) added to account ${r.accountId}\n`);
  });

number
  .command('limit')
  .description("set a number's own rate limit, or go back to the policy table's for its type")
  .requiredOption('--number <number>', 'E.164 number, or digits for a short code')
  .requiredOption('--max-sps <n|default>', 'segments per second, or "default"')
  .action(async (o: { number: string; maxSps: string }) => {
    const rate = o.maxSps === 'default' ? 'default' : Number(o.maxSps);
    if (rate !== 'default' && !(rate > 0)) throw new Error('--max-sps: a positive number or "default"');
    const r = await call(
      `/v1/admin/numbers/${encodeURIComponent(o.number)}`,
      { maxSegmentsPerSecond: rate },
      'PATCH',
    );
    process.stdout.write(`number ${r.number}: ${r.maxSegmentsPerSecond} segments/s\n`);
  });

const key = program.command('key').description('API keys');
key
  .command('create')
  .description('create another API key for an account (the key is shown once)')
  .requiredOption('--account <id>', 'account id')
  .option('--name <name>', 'a name to recognise the key by')
  .option('--json', 'print the key as JSON')
  .action(async (o: { account: string; name?: string; json?: boolean }) => {
    const r = await call(
      `/v1/admin/accounts/${encodeURIComponent(o.account)}/api-keys`,
      o.name ? { name: o.name } : {},
    );
    if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(`key ${r.id}\napi key  ${r.apiKey}\n(the key is shown only now)\n`);
  });
key
  .command('list')
  .description("an account's API keys (ids, prefixes, revocation)")
  .requiredOption('--account <id>', 'account id')
  .option('--json', 'print JSON')
  .action(async (o: { account: string; json?: boolean }) => {
    const r = await call(`/v1/admin/accounts/${encodeURIComponent(o.account)}/api-keys`, undefined, 'GET');
    const rows = r.data as Array<Record<string, unknown>>;
    if (o.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
    else
      for (const k of rows)
        process.stdout.write(`${k.id}  ${k.prefix}…  ${k.revokedAt ? `revoked ${k.revokedAt}` : 'active'}\n`);
  });
key
  .command('revoke')
  .description('revoke an API key: it stops working within a second on every instance')
  .argument('<keyId>', 'the key id (from key list)')
  .action(async (keyId: string) => {
    await call(`/v1/admin/api-keys/${encodeURIComponent(keyId)}`, undefined, 'DELETE');
    process.stdout.write(`key ${keyId} revoked\n`);
  });

program
  .command('receipts')
  .description('receipts that never matched a sent segment')
  .command('unmatched')
  .option('--limit <n>', 'how many, newest first', '50')
  .action(async (o: { limit: string }) => {
    const r = await call(
      `/v1/admin/receipts/unmatched?limit=${encodeURIComponent(o.limit)}`,
      undefined,
      'GET',
    );
    process.stdout.write(`${JSON.stringify(r.data, null, 2)}\n`);
  });

program
  .command('contacts')
  .description('contacts')
  .command('import-opt-outs')
  .description(
    'import an existing opt-out list (one number per line, or a CSV whose first column is the number)',
  )
  .requiredOption('--account <id>', 'account id')
  .requiredOption('--file <path>', 'the list')
  .action(async (o: { account: string; file: string }) => {
    let text: string;
    try {
      text = await readFile(o.file, 'utf8');
    } catch (err) {
      fail(`cannot read ${o.file}: ${(err as Error).message}`);
    }
    const numbers = text
      .split(/\r?\n/)
      .map((l) => (l.split(',')[0] ?? '').replace(/^"|"$/g, '').trim())
      .filter((l) => l.length > 0 && !/^(phone|number|e164)/i.test(l));
    const total = { optedOut: 0, alreadyOptedOut: 0, invalid: 0 };
    for (let i = 0; i < numbers.length; i += 10_000) {
      const chunk = numbers.slice(i, i + 10_000);
      const r = (await call(`/v1/admin/accounts/${encodeURIComponent(o.account)}/opt-outs`, {
        numbers: chunk,
      })) as { optedOut: number; alreadyOptedOut: number; invalid: Array<{ index: number; number: string }> };
      total.optedOut += r.optedOut;
      total.alreadyOptedOut += r.alreadyOptedOut;
      total.invalid += r.invalid.length;
      for (const bad of r.invalid)
        process.stderr.write(`entry ${i + bad.index + 1}: not a phone number: ${bad.number}\n`);
      process.stderr.write(`${Math.min(i + chunk.length, numbers.length)}/${numbers.length} numbers\n`);
    }
    process.stdout.write(
      `opted out ${total.optedOut}, already opted out ${total.alreadyOptedOut}, unreadable ${total.invalid}\n`,
    );
  });

await program.parseAsync(process.argv);
