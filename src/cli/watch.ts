/**
 * `parley status` (binds, queues, deferrals, today's per-number figures) and `parley tail` (the
 * account's live event stream, resumed with Last-Event-ID after a drop; eventsource-parser).
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** Samples of a Prometheus text exposition, by metric name. */
export function parseMetrics(
  text: string,
): Map<string, Array<{ labels: Record<string, string>; value: number }>> {
  const out = new Map<string, Array<{ labels: Record<string, string>; value: number }>>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    const list = out.get(m[1]!) ?? [];
    list.push({ labels, value: Number(m[3]) });
    out.set(m[1]!, list);
  }
  return out;
}

const sumBy = (
  samples: Array<{ labels: Record<string, string>; value: number }> | undefined,
  label: string,
): Map<string, number> => {
  const m = new Map<string, number>();
  for (const s of samples ?? []) m.set(s.labels[label] ?? '', (m.get(s.labels[label] ?? '') ?? 0) + s.value);
  return m;
};

export interface StatusInput {
  ready: {
    ok: boolean;
    checks: {
      database: boolean;
      redis?: boolean;
      carriers: Record<string, { healthy: number; bound: number; binds: number }>;
    };
  };
  metrics: string;
  today?:
    | {
        data: Array<{
          key: string;
          sent: number;
          delivered: number;
          deliveryRatio: number | null;
          failed: { total: number };
          clicked: { total: number; unique: number };
          segments: number;
        }>;
      }
    | undefined;
}

/** The status report as text. */
export function renderStatus(s: StatusInput): string {
  const m = parseMetrics(s.metrics);
  const lines = [
    `gateway ${s.ready.ok ? 'ready' : 'NOT READY'}; database ${s.ready.checks.database ? 'up' : 'DOWN'}${s.ready.checks.redis === undefined ? '' : `, redis ${s.ready.checks.redis ? 'up' : 'DOWN'}`}`,
    'binds:',
  ];
  const states = m.get('parley_smpp_binds') ?? [];
  for (const [id, c] of Object.entries(s.ready.checks.carriers)) {
    const byState = states
      .filter((x) => x.labels.carrier === id && x.value > 0)
      .map((x) => `${x.labels.state} ${x.value}`)
      .join(', ');
    const queued =
      (m.get('parley_carrier_queue_depth') ?? []).find((x) => x.labels.carrier === id)?.value ?? 0;
    lines.push(
      `  ${id}: ${c.healthy}/${c.binds} healthy (${byState || 'none'}); waiting for a window ${queued}`,
    );
  }
  const inFlight = m.get('parley_dispatch_in_flight')?.[0]?.value ?? 0;
  lines.push(`dispatch: ${inFlight} segments in flight`);
  const deferred = [...sumBy(m.get('parley_segments_deferred_total'), 'reason')].filter(([, n]) => n > 0);
  lines.push(
    `deferred since start: ${deferred.length ? deferred.map(([r, n]) => `${r} ${n}`).join(', ') : 'none'}`,
  );
  const statuses = [...sumBy(m.get('parley_message_status_total'), 'status')].filter(([, n]) => n > 0);
  lines.push(`status changes since start: ${statuses.map(([st, n]) => `${st} ${n}`).join(', ') || 'none'}`);
  if (s.today) {
    lines.push('today (UTC), per number:');
    if (s.today.data.length === 0) lines.push('  nothing yet');
    for (const r of s.today.data) {
      const ratio = r.deliveryRatio === null ? '-' : `${(r.deliveryRatio * 100).toFixed(1)} %`;
      lines.push(
        `  ${r.key}: sent ${r.sent}, delivered ${r.delivered} (${ratio}), failed ${r.failed.total}, clicked ${r.clicked.total} (${r.clicked.unique} unique), segments ${r.segments}`,
      );
    }
  } else lines.push('(set PARLEY_API_KEY for the account’s per-number figures)');
  return lines.join('\n');
}

/** One line per live event. */
export function renderEvent(e: EventSourceMessage): string {
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(e.data) as Record<string, unknown>;
  } catch {
    // heartbeats and non-JSON events print as they are
  }
  const pick = ['id', 'status', 'reason', 'from', 'to', 'url', 'contact', 'unreadCount']
    .filter((k) => data[k] !== undefined && data[k] !== null)
    .map((k) => `${k}=${typeof data[k] === 'object' ? JSON.stringify(data[k]) : String(data[k])}`)
    .join(' ');
  return `${new Date().toISOString()} ${e.event ?? 'message'} #${e.id ?? '-'} ${pick}`;
}

/**
 * Follows GET /v1/events until `signal` aborts; reconnects after a drop with Last-Event-ID so no
 * event is missed. Throws on 401/403 (a wrong key does not get better by retrying).
 */
export async function tail(
  url: string,
  apiKey: string,
  write: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  let last: string | undefined;
  while (!signal.aborted) {
    try {
      const res = await fetch(`${url}/v1/events`, {
        headers: {
          authorization: `Bearer ${apiKey}`,
          accept: 'text/event-stream',
          ...(last ? { 'last-event-id': last } : {}),
        },
        signal,
      });
      if (res.status === 401 || res.status === 403)
        throw new Error(`the API refused the key (HTTP ${res.status})`);
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      const parser = createParser({
        onEvent: (e) => {
          if (e.id) last = e.id;
          write(renderEvent(e));
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch (err) {
      if (signal.aborted) return;
      if ((err as Error).message.startsWith('the API refused')) throw err;
      write(`# stream dropped (${(err as Error).message}); reconnecting`);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
