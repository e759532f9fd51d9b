import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { waitFor } from './smpp.ts';

export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: any;
  /** performance.now() when it was parsed. */
  at: number;
}

/** A Server-Sent Events client (fetch + eventsource-parser) that records every event and comment. */
export interface SseClient {
  status: number;
  events: SseEvent[];
  comments: number;
  closed: boolean;
  /** Waits until `pred` holds for the events received (or throws after `timeoutMs`). */
  until(pred: (events: SseEvent[]) => boolean, what: string, timeoutMs?: number): Promise<SseEvent[]>;
  close(): void;
}

export async function connectSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });
  const c: SseClient = {
    status: res.status,
    events: [],
    comments: 0,
    closed: false,
    until: async (pred, what, timeoutMs = 10_000) => {
      await waitFor(() => pred(c.events), timeoutMs, what);
      return c.events;
    },
    close: () => ac.abort(),
  };
  if (res.status !== 200 || !res.body) {
    c.events.push({ id: undefined, event: 'http-error', data: await res.json().catch(() => null), at: 0 });
    c.closed = true;
    return c;
  }
  const parser = createParser({
    onEvent: (m: EventSourceMessage) => {
      let data: unknown = m.data;
      try {
        data = JSON.parse(m.data);
      } catch {
        // not JSON: keep the text
      }
      c.events.push({ id: m.id, event: m.event, data, at: performance.now() });
    },
    onComment: () => {
      c.comments++;
    },
  });
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
        parser.feed(decoder.decode(chunk, { stream: true }));
    } catch {
      // aborted
    } finally {
      c.closed = true;
    }
  })();
  return c;
}
