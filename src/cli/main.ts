/**
 * Operator CLI over the admin API: `npm run cli -- account create --name NAME [--json]` and
 * `npm run cli -- number add --account ID --number +1… --type local|toll_free|short_code|mobile [--json]`.
 * Finds the gateway by PARLEY_URL (default http://127.0.0.1:3000) and authenticates with
 * PARLEY_ADMIN_TOKEN. Exits 1 with the API's error message on failure.
 */
import { Command, Option } from 'commander';
import { loadCliConfig } from '../config/cli-config.ts';

const cfg = loadCliConfig();

async function call(path: string, body: unknown): Promise<Record<string, unknown>> {
  if (!cfg.adminToken) fail('set PARLEY_ADMIN_TOKEN to the gateway admin token');
  let res: Response;
  try {
    res = await fetch(`${cfg.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cfg.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (err) {
    fail(`cannot reach the gateway at ${cfg.url} (set PARLEY_URL): ${(err as Error).message}`);
  }
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
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
  .addOption(
    new Option('--type <type>', 'number type')
      .choices(['local', 'toll_free', 'short_code', 'mobile'])
      .makeOptionMandatory(),
  )
  .option('--json', 'print the number as JSON')
  .action(async (o: { account: string; number: string; type: string; json?: boolean }) => {
    const r = await call('/v1/admin/numbers', { accountId: o.account, number: o.number, type: o.type });
    if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(`number ${r.number} (${r.type}) added to account ${r.accountId}\n`);
  });

await program.parseAsync(process.argv);
