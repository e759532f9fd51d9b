/**
 * `parley send --csv FILE`: a campaign through the API, one POST per row with an idempotency key
 * derived from the file and row, so that a rerun after Ctrl-C or a crash sends nothing twice (and
 * a state file lets it skip what is known to be done). Progress with cli-progress; pacing with
 * Bottleneck; the CSV read by csv-parse.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import Bottleneck from 'bottleneck';
import cliProgress from 'cli-progress';
import { parse } from 'csv-parse/sync';

export interface SendOptions {
  csv: string;
  from?: string | undefined;
  template: string;
  rate?: number | undefined;
  dryRun?: boolean | undefined;
  toColumn?: string | undefined;
  concurrency: number;
  trackLinks?: boolean | undefined;
}

export interface Api {
  /** `replayed`: the API answered an idempotency key it had seen (the message was sent before). */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<ApiAnswer>;
}

/** The parts of the API's answers the CLI reads (messages, encode dry-run, errors). */
export interface ApiAnswer {
  status: number;
  json: {
    error?: { code?: string; message?: string };
    segments?: number;
    encoding?: string;
    footer?: { applies?: boolean };
    [k: string]: unknown;
  };
  replayed?: boolean;
}

const TO_COLUMNS = ['phone', 'number', 'to', 'e164', 'mobile', 'phone_number'];

/** `{{name}}` → the row's value; throws naming the first placeholder the row has no value for. */
export function renderTemplate(template: string, row: Record<string, string>): string {
  return template.replace(/\{\{\s*([^}\s]+)\s*\}\}/g, (_, key: string) => {
    const v = row[key] ?? row[key.toLowerCase()];
    if (v === undefined || v === '') throw new Error(`no value for {{${key}}}`);
    return v;
  });
}

/** The same file and row give the same key: the API answers a replay instead of sending again. */
export function rowKey(fileHash: string, row: number): string {
  return `csv-${fileHash.slice(0, 24)}-${row}`;
}

interface Row {
  index: number;
  to: string;
  body: string;
}

/** Reads and renders every row first: a bad file fails before anything is sent. */
export function prepareRows(text: string, o: Pick<SendOptions, 'template' | 'toColumn'>): Row[] {
  const records = parse(text, {
    columns: (h: string[]) => h.map((x) => x.trim().toLowerCase()),
    skip_empty_lines: true,
    trim: true,
    bom: true,
  }) as Array<Record<string, string>>;
  if (records.length === 0) throw new Error('the file has no rows');
  const col = o.toColumn?.toLowerCase() ?? TO_COLUMNS.find((c) => c in records[0]!);
  if (!col || !(col in records[0]!))
    throw new Error(`no recipient column (use --to-column; looked for ${TO_COLUMNS.join(', ')})`);
  const errors: string[] = [];
  const rows = records.map((r, index) => {
    try {
      if (!r[col]) throw new Error(`empty ${col}`);
      return { index, to: r[col]!, body: renderTemplate(o.template, r) };
    } catch (err) {
      errors.push(`row ${index + 2}: ${(err as Error).message}`);
      return { index, to: '', body: '' };
    }
  });
  if (errors.length > 0)
    throw new Error(`${errors.length} rows cannot be sent:\n${errors.slice(0, 20).join('\n')}`);
  return rows;
}

interface State {
  fileHash: string;
  /** Every row below this one is done (accepted, replayed or refused for good). */
  doneBelow: number;
}

/** Runs the send; returns the summary text. Ctrl-C stops issuing, waits for what is in flight, saves. */
export async function runSend(
  o: SendOptions,
  api: Api,
  out: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  const text = await readFile(o.csv, 'utf8');
  const fileHash = createHash('sha256').update(text).digest('hex');
  const rows = prepareRows(text, o);
  if (o.dryRun) return dryRun(rows, o, api);

  const stateFile = `${o.csv}.parley-send.json`;
  const state: State = await readFile(stateFile, 'utf8')
    .then((s) => JSON.parse(s) as State)
    .then((s) => (s.fileHash === fileHash ? s : { fileHash, doneBelow: 0 }))
    .catch(() => ({ fileHash, doneBelow: 0 }));
  const todo = rows.filter((r) => r.index >= state.doneBelow);
  const limiter = new Bottleneck({
    maxConcurrent: o.concurrency,
    ...(o.rate ? { minTime: 1000 / o.rate } : {}),
  });
  const bar = new cliProgress.SingleBar(
    {
      format:
        'sending {bar} {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted} | refused {refused}',
      stream: out,
      etaBuffer: 200,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const summary = { accepted: 0, alreadySent: 0, refused: new Map<string, number>(), failed: 0 };
  const done = new Set<number>();
  let stopping = false;
  const onInt = () => {
    stopping = true;
    void limiter.stop({ dropWaitingJobs: true });
  };
  process.once('SIGINT', onInt);
  const t0 = Date.now();
  bar.start(rows.length, state.doneBelow, { rate: 0, refused: 0 });
  let refusedTotal = 0;
  const saveState = async () => {
    let below = state.doneBelow;
    while (done.has(below)) below++;
    state.doneBelow = below;
    await writeFile(stateFile, JSON.stringify(state));
  };
  let saving = Promise.resolve();
  await Promise.allSettled(
    todo.map((r) =>
      limiter.schedule(async () => {
        if (stopping) return;
        const body: Record<string, unknown> = { to: r.to, body: r.body };
        if (o.from) body.from = o.from;
        if (o.trackLinks !== undefined) body.trackLinks = o.trackLinks;
        let res: Awaited<ReturnType<Api['post']>> | undefined;
        for (let attempt = 0; attempt < 5 && !stopping; attempt++) {
          res = await api
            .post('/v1/messages', body, { 'idempotency-key': rowKey(fileHash, r.index) })
            .catch(() => undefined);
          // Retried with the same key: 5xx and network errors only (the API may have stored it).
          if (res && res.status < 500) break;
          await new Promise((w) => setTimeout(w, 200 * 2 ** attempt));
        }
        if (!res || res.status >= 500) {
          summary.failed++;
          return;
        }
        if (res.status >= 200 && res.status < 300) {
          if (res.replayed) summary.alreadySent++;
          else summary.accepted++;
        } else {
          const code = String(res.json?.error?.code ?? `HTTP_${res.status}`);
          summary.refused.set(code, (summary.refused.get(code) ?? 0) + 1);
          refusedTotal++;
        }
        done.add(r.index);
        const secs = (Date.now() - t0) / 1000;
        bar.increment(1, { rate: Math.round(done.size / Math.max(secs, 0.001)), refused: refusedTotal });
        if (done.size % 200 === 0) saving = saving.then(saveState);
      }),
    ),
  );
  bar.stop();
  process.off('SIGINT', onInt);
  await saving;
  await saveState();
  const complete = state.doneBelow >= rows.length;
  if (complete) await rm(stateFile, { force: true });
  const lines = [
    `${complete ? 'done' : 'stopped'}: ${rows.length} rows; accepted ${summary.accepted}, sent before (replayed) ${summary.alreadySent}, refused ${refusedTotal}, not answered ${summary.failed}`,
    ...[...summary.refused].sort((a, b) => b[1] - a[1]).map(([code, n]) => `  refused ${code}: ${n}`),
  ];
  if (!complete)
    lines.push(`rerun the same command to go on from row ${state.doneBelow + 2} (nothing is sent twice)`);
  return lines.join('\n');
}

async function dryRun(rows: Row[], o: SendOptions, api: Api): Promise<string> {
  const limiter = new Bottleneck({ maxConcurrent: o.concurrency });
  const totals = {
    messages: 0,
    segments: 0,
    gsm7: 0,
    ucs2: 0,
    other: 0,
    footer: 0,
    errors: new Map<string, number>(),
  };
  const maxSeg = { n: 0, row: 0 };
  await Promise.all(
    rows.map((r) =>
      limiter.schedule(async () => {
        const res = await api.post('/v1/messages/encode', {
          body: r.body,
          to: r.to,
          ...(o.trackLinks === undefined ? {} : { trackLinks: o.trackLinks }),
        });
        if (res.status !== 200) {
          const code = String(res.json?.error?.code ?? `HTTP_${res.status}`);
          totals.errors.set(code, (totals.errors.get(code) ?? 0) + 1);
          return;
        }
        totals.messages++;
        const segments = res.json.segments ?? 0;
        totals.segments += segments;
        if (res.json.encoding === 'gsm7') totals.gsm7++;
        else if (res.json.encoding === 'ucs2') totals.ucs2++;
        else totals.other++;
        if (res.json.footer?.applies) totals.footer++;
        if (segments > maxSeg.n) Object.assign(maxSeg, { n: segments, row: r.index + 2 });
      }),
    ),
  );
  const example = rows[0]!;
  return [
    `dry run: nothing was sent`,
    `first message to ${example.to}: ${JSON.stringify(example.body)}`,
    `${totals.messages} messages, ${totals.segments} segments (billable), ${(totals.segments / Math.max(1, totals.messages)).toFixed(2)} per message; longest ${maxSeg.n} segments (row ${maxSeg.row})`,
    `encoding: GSM-7 ${totals.gsm7}, UCS-2 ${totals.ucs2}${totals.other ? `, other ${totals.other}` : ''}; first messages getting the opt-out footer ${totals.footer}`,
    ...[...totals.errors].map(([code, n]) => `  would be refused ${code}: ${n}`),
  ].join('\n');
}
