/**
 * Operator CLI over the admin API: `npm run cli -- account create --name NAME [--json]`,
 * `npm run cli -- number add --account ID --number +1… --type local|toll_free|short_code|mobile [--json]`,
 * `npm run cli -- number limit --number +1… --max-sps N|default` (the number's own rate limit),
 * `npm run cli -- key create|list --account ID [--json]`, `npm run cli -- key revoke KEY_ID`,
 * `npm run cli -- receipts unmatched [--limit N]`,
 * `npm run cli -- contacts import-opt-outs --account ID --file numbers.txt` (one number per line;
 * a CSV's first column).
 * `npm run cli -- send --csv FILE --template "Hi {{name}}" [--from N] [--rate N] [--dry-run]`,
 * `npm run cli -- status`, `npm run cli -- tail` (account commands: PARLEY_API_KEY).
 * Finds the gateway by PARLEY_URL (default http://127.0.0.1:3000) and authenticates with
 * PARLEY_ADMIN_TOKEN (admin commands) or PARLEY_API_KEY (account commands). Exits 1 with the
 * API's error message on failure.
 */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { loadCliConfig } from '../config/cli-config.ts';
import { NUMBER_TYPES } from '../messaging/vocabulary.ts';
import { type ApiAnswer, runSend } from './send.ts';
import { renderStatus, type StatusInput, tail } from './watch.ts';

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

/** A call with the account's API key: answers status and JSON, never exits (send decides). */
async function accountCall(
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  method = 'POST',
) {
  if (!cfg.apiKey) fail("set PARLEY_API_KEY to the account's API key");
  const res = await fetch(`${cfg.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${cfg.apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: res.status,
    json: (await res.json().catch(() => ({}))) as ApiAnswer['json'],
    replayed: res.headers.get('idempotent-replayed') === 'true',
  };
}

const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) fail(`${name} must be a positive number`);
  return n;
};

program
  .command('send')
  .description('send a campaign from a CSV through the API (safe to rerun: nothing is sent twice)')
  .requiredOption('--csv <file>', 'the recipients, with a header row (phone/number/to column)')
  .requiredOption('--template <text>', "the body; {{column}} takes the row's value")
  .option('--from <number>', "the account's number to send from (default: the sender rule)")
  .option('--to-column <name>', 'the recipient column')
  .option('--rate <n>', 'at most n messages per second', positive('--rate'))
  .option('--concurrency <n>', 'requests in flight', positive('--concurrency'), 16)
  .option('--track-links', 'shorten links to tracked short links')
  .option('--dry-run', 'print encoding, segments and totals; send nothing')
  .action(async (o) => {
    if (!cfg.apiKey) fail("set PARLEY_API_KEY to the account's API key");
    try {
      const summary = await runSend(
        {
          csv: o.csv,
          from: o.from,
          template: o.template,
          rate: o.rate,
          dryRun: o.dryRun,
          toColumn: o.toColumn,
          concurrency: o.concurrency,
          trackLinks: o.trackLinks,
        },
        { post: (p, b, h) => accountCall(p, b, h) },
      );
      process.stdout.write(`${summary}\n`);
      // Interrupted: not a success, and the rerun goes on from where it stopped.
      if (summary.startsWith('stopped')) process.exitCode = 130;
    } catch (err) {
      fail((err as Error).message);
    }
  });

program
  .command('status')
  .description("binds, queues, deferrals, and (with PARLEY_API_KEY) today's per-number figures")
  .action(async () => {
    let ready: StatusInput['ready'];
    let metrics: string;
    try {
      ready = (await (await fetch(`${cfg.url}/health/ready`)).json()) as StatusInput['ready'];
      metrics = await (await fetch(`${cfg.url}/metrics`)).text();
    } catch (err) {
      fail(`cannot reach the gateway at ${cfg.url} (set PARLEY_URL): ${(err as Error).message}`);
    }
    const from = `${new Date().toISOString().slice(0, 10)}T00:00:00Z`;
    const today = cfg.apiKey
      ? ((await accountCall(`/v1/metrics/messages?groupBy=number&from=${from}`, undefined, {}, 'GET'))
          .json as unknown as StatusInput['today'])
      : undefined;
    process.stdout.write(`${renderStatus({ ready, metrics, today })}\n`);
  });

program
  .command('tail')
  .description("follow the account's live events (messages, statuses, clicks, opt-outs)")
  .action(async () => {
    if (!cfg.apiKey) fail("set PARLEY_API_KEY to the account's API key");
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    try {
      await tail(cfg.url, cfg.apiKey, (l) => process.stdout.write(`${l}\n`), stop.signal);
    } catch (err) {
      fail((err as Error).message);
    }
  });

await program.parseAsync(process.argv);
