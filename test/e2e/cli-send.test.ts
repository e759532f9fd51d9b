import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareRows, renderTemplate } from '../../src/cli/send.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { runTs } from '../helpers/processes.ts';
import { waitFor } from '../helpers/smpp.ts';

let t: TestGateway;
let url: string;
beforeAll(async () => {
  t = await startTestGateway({
    file: import.meta.filename,
    env: { PARLEY_LINK_BASE_URL: 'https://pl.test/l/' },
  });
  url = await t.gw.http.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => t?.stop());

const cliEnv = () => ({ PARLEY_URL: url, PARLEY_API_KEY: t.account.apiKey });
async function cli(args: string[]) {
  const c = runTs('src/cli/main.ts', args, cliEnv());
  const code = await c.exited;
  return { code, out: c.lines.join('\n') };
}

async function csv(name: string, rows: string[]) {
  const f = path.join(os.tmpdir(), `parley-cli-${process.pid}-${name}.csv`);
  await writeFile(f, `name,phone\n${rows.join('\n')}\n`);
  return f;
}

const count = async (like: string) =>
  Number(
    (await t.gw.db.query<{ n: string }>('SELECT count(*) AS n FROM messages WHERE body LIKE $1', [like]))
      .rows[0]!.n,
  );

async function atLeast(n: number, like: string) {
  let c = 0;
  await waitFor(
    () => c >= n,
    20_000,
    `${n} messages like ${like}`,
    async () => {
      c = await count(like);
    },
  );
}

describe('parley send --csv', () => {
  it('renders the template per row and reports refusals by code; a rerun sends nothing twice', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => `Ann ${i},+1415555${String(1000 + i)}`);
    rows[7] = 'Bob,not-a-number';
    const f = await csv('basic', rows);
    const r = await cli(['send', '--csv', f, '--template', 'Hi {{name}}, your code is ready']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/done: 30 rows; accepted 29, sent before \(replayed\) 0, refused 1/);
    expect(r.out).toMatch(/refused INVALID_TO_NUMBER: 1/);
    expect(await count('Hi Ann %, your code is ready')).toBe(29);
    const again = await cli(['send', '--csv', f, '--template', 'Hi {{name}}, your code is ready']);
    expect(again.out).toMatch(/accepted 0, sent before \(replayed\) 29, refused 1/);
    expect(await count('Hi Ann %, your code is ready')).toBe(29);
  });

  it('resumes after the process is killed mid-send without sending any row twice', async () => {
    const rows = Array.from({ length: 120 }, (_, i) => `Cy ${i},+1415556${String(1000 + i)}`);
    const f = await csv('kill', rows);
    const args = ['send', '--csv', f, '--template', 'Resume {{name}}', '--rate', '40', '--concurrency', '4'];
    const c = runTs('src/cli/main.ts', args, cliEnv());
    await atLeast(30, 'Resume %');
    c.child.kill('SIGKILL');
    await c.exited;
    const before = await count('Resume %');
    expect(before).toBeLessThan(120);
    const r = await cli(args);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/done: 120 rows/);
    expect(await count('Resume %')).toBe(120);
    const dup = await t.gw.db.query(
      "SELECT to_e164 FROM messages WHERE body LIKE 'Resume %' GROUP BY 1 HAVING count(*) > 1",
    );
    expect(dup.rows).toEqual([]);
  });

  it('stops on Ctrl-C with a resumable state and a non-zero exit', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => `Di ${i},+1415557${String(1000 + i)}`);
    const f = await csv('int', rows);
    const args = ['send', '--csv', f, '--template', 'Int {{name}}', '--rate', '50', '--concurrency', '2'];
    const c = runTs('src/cli/main.ts', args, cliEnv());
    await atLeast(20, 'Int %');
    c.child.kill('SIGINT');
    expect(await c.exited).toBe(130);
    expect(c.lines.join('\n')).toMatch(/stopped: 200 rows.*\n.*rerun the same command to go on from row/s);
    const state = JSON.parse(await readFile(`${f}.parley-send.json`, 'utf8'));
    expect(state.doneBelow).toBeGreaterThanOrEqual(15);
    const r = await cli(args);
    expect(r.out).toMatch(/done: 200 rows/);
    expect(await count('Int %')).toBe(200);
  });

  it('dry-runs: encoding, segments and totals, nothing sent; bad files fail before sending', async () => {
    const f = await csv('dry', ['Émile,+14155558001', 'Zoë 😀,+14155558002', 'Al,+14155558003']);
    const r = await cli([
      'send',
      '--csv',
      f,
      '--template',
      `{{name}}: ${'long text '.repeat(20)}`,
      '--dry-run',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/dry run: nothing was sent/);
    expect(r.out).toMatch(/3 messages, \d+ segments/);
    expect(r.out).toMatch(/UCS-2 1/);
    expect(await count('Émile:%')).toBe(0);
    const bad = await csv('bad', ['Ed,+14155558004', ',+14155558005']);
    const b = await cli(['send', '--csv', bad, '--template', 'Hi {{name}}']);
    expect(b.code).toBe(1);
    expect(b.out).toMatch(/row 3: no value for \{\{name\}\}/);
    expect(() => prepareRows('who,when\nx,y\n', { template: 'x' })).toThrow(/no recipient column/);
    // A malformed file (a quote never closed, a row of the wrong width) fails before anything is sent.
    expect(() => prepareRows('name,phone\n"Ann,+14155558006\n', { template: 'x' })).toThrow();
    expect(() => prepareRows('name,phone\nAnn,+14155558006,extra\n', { template: 'x' })).toThrow();
    expect(() => prepareRows('', { template: 'x' })).toThrow(/no rows/);
    expect(renderTemplate('Hi {{ name }}!', { name: 'Flo' })).toBe('Hi Flo!');
  });
});

describe('parley status and tail', () => {
  it("status shows binds, queues and today's per-number figures; tail follows live events", async () => {
    const s = await cli(['status']);
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/gateway ready/);
    expect(s.out).toMatch(/sim: \d+\/\d+ healthy/);
    expect(s.out).toMatch(new RegExp(`\\${t.account.number}: sent \\d+`));
    const tail = runTs('src/cli/main.ts', ['tail'], cliEnv());
    try {
      await waitFor(() => tail.lines.some((l) => l.includes('ready')), 10_000, 'tail connected');
      const m = await t.request(
        'POST',
        '/v1/messages',
        { to: '+14155559001', body: 'go https://example.com/t', trackLinks: true },
        { authorization: `Bearer ${t.account.apiKey}` },
      );
      const code = (await t.gw.db.query('SELECT code FROM links WHERE message_id = $1', [m.json.id])).rows[0]!
        .code;
      await t.gw.http.inject({
        method: 'GET',
        url: `/l/${code}`,
        headers: { 'user-agent': 'Mozilla/5.0 (Android 14; Mobile)' },
      });
      await waitFor(
        () => tail.lines.some((l) => l.includes('message.clicked') && l.includes(m.json.id)),
        10_000,
        'the click in the tail',
      );
    } finally {
      tail.child.kill('SIGINT');
      await tail.exited;
    }
  });
});
