import { afterEach, describe, expect, it } from 'vitest';
import type { LiveEvent, LiveEventStore } from '../../src/conversations/live-events.ts';
import { parseLastEventId } from '../../src/conversations/live-events.ts';
import { LiveInbox, type LiveSink } from '../../src/conversations/live-inbox.ts';
import { waitFor } from '../helpers/smpp.ts';

class MemoryLog implements LiveEventStore {
  events: LiveEvent[] = [];
  oldest: number | null = null;
  reads = 0;
  fail = false;
  gate: Promise<void> | undefined;
  append(n: number): void {
    for (let i = 0; i < n; i++) {
      const seq = this.events.length + 1;
      this.events.push({ seq, type: 'message.inbound', data: { n: seq } });
    }
    this.oldest ??= 1;
  }
  async read(_a: string, after: number, limit: number): Promise<LiveEvent[]> {
    this.reads++;
    await this.gate;
    if (this.fail) throw new Error('database down');
    return this.events.filter((e) => e.seq > after && e.seq >= (this.oldest ?? 0)).slice(0, limit);
  }
  async head() {
    return { head: this.events.length, oldest: this.oldest };
  }
}

function sink(max = Number.POSITIVE_INFINITY) {
  const s = {
    got: [] as number[],
    truncatedAt: undefined as number | undefined,
    ended: false,
    push(events: readonly LiveEvent[]) {
      if (s.got.length + events.length > max) return false;
      s.got.push(...events.map((e) => e.seq));
      return true;
    },
    truncated(oldest: number) {
      s.truncatedAt = oldest;
    },
    end() {
      s.ended = true;
    },
  };
  return s satisfies LiveSink;
}

let inbox: LiveInbox | undefined;
afterEach(() => inbox?.close());
const make = (log: MemoryLog, errors: unknown[] = []) =>
  (inbox = new LiveInbox(log, { pollMs: 20, readLimit: 3, maxSubscribers: 3 }, (e) => errors.push(e)));

describe('LiveInbox', () => {
  it('delivers from each subscriber’s own cursor, in order, in pages, without repeats', async () => {
    const log = new MemoryLog();
    log.append(5);
    const i = make(log);
    const fromStart = sink();
    const fromNow = sink();
    const s1 = await i.subscribe('a', 0, fromStart);
    const s2 = await i.subscribe('a', undefined, fromNow);
    expect([s1.cursor, s2.cursor]).toEqual([0, 5]);
    await waitFor(() => fromStart.got.length === 5, 1000, 'backlog');
    log.append(4);
    i.notify('a');
    await waitFor(() => fromStart.got.length === 9 && fromNow.got.length === 4, 1000, 'new');
    expect(fromStart.got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(fromNow.got).toEqual([6, 7, 8, 9]);
  });

  it('coalesces notifications while a read runs; a lost one is made up by the poll', async () => {
    const log = new MemoryLog();
    const i = make(log);
    const s = sink();
    await i.subscribe('a', undefined, s);
    let open!: () => void;
    log.gate = new Promise((r) => {
      open = r;
    });
    log.append(1);
    i.notify('a');
    const before = log.reads;
    for (let k = 0; k < 50; k++) i.notify('a');
    expect(log.reads).toBe(before);
    open();
    log.gate = undefined;
    await waitFor(() => s.got.length === 1, 1000, 'first');
    log.append(2); // no notify: the poll reads it
    await waitFor(() => s.got.length === 3, 1000, 'by poll');
  });

  it('closes a subscriber that cannot keep up, keeps the others; bounds subscribers', async () => {
    const log = new MemoryLog();
    const i = make(log);
    const slow = sink(2);
    const ok = sink();
    await i.subscribe('a', undefined, slow);
    const okSub = await i.subscribe('a', undefined, ok);
    log.append(3);
    i.notify('a');
    await waitFor(() => ok.got.length === 3, 1000, 'ok');
    expect(slow.got).toEqual([]);
    expect(i.subscribers).toBe(1);
    okSub.unsubscribe();
    okSub.unsubscribe();
    expect(i.subscribers).toBe(0);
    for (let k = 0; k < 3; k++) await i.subscribe(`b${k}`, undefined, sink());
    expect(i.full).toBe(true);
    i.close();
    expect(i.subscribers).toBe(0);
  });

  it('says when the resume point was pruned; survives read errors without skipping', async () => {
    const log = new MemoryLog();
    log.append(10);
    log.oldest = 6;
    const errors: unknown[] = [];
    const i = make(log, errors);
    const s = sink();
    const sub = await i.subscribe('a', 2, s);
    expect(s.truncatedAt).toBe(6);
    expect(sub.cursor).toBe(5);
    await waitFor(() => s.got.length === 5, 1000, 'kept ones');
    log.fail = true;
    log.append(2);
    await waitFor(() => errors.length >= 2, 1000, 'errors');
    log.fail = false;
    await waitFor(() => s.got.length === 7, 1000, 'after recovery');
    expect(s.got).toEqual([6, 7, 8, 9, 10, 11, 12]);
    const ended = sink();
    await i.subscribe('c', undefined, ended);
    i.close();
    expect(ended.ended).toBe(true);
  });

  it('parses Last-Event-ID strictly', () => {
    expect(parseLastEventId(undefined)).toBeUndefined();
    expect(parseLastEventId('42')).toBe(42);
    expect(parseLastEventId(' 7 ')).toBe(7);
    for (const bad of ['', 'x', '-1', '1.5', '1e3', '1234567890123456', ['1']])
      expect(parseLastEventId(bad)).toBeNull();
  });

  describe('without the poll (a notification or a subscription must suffice)', () => {
    const still = (log: MemoryLog, errors: unknown[] = []) =>
      (inbox = new LiveInbox(log, { pollMs: 60_000, readLimit: 3, maxSubscribers: 10 }, (e) =>
        errors.push(e),
      ));

    it('reads a backlog at subscription, page after page, and counts what it did', async () => {
      const log = new MemoryLog();
      log.append(8);
      const i = still(log);
      const s = sink();
      await i.subscribe('a', 1, s);
      await waitFor(() => s.got.length === 7, 1000, 'backlog in pages of 3');
      expect(s.got).toEqual([2, 3, 4, 5, 6, 7, 8]);
      expect(i.stats.delivered).toBe(7);
      await waitFor(() => !i.stats.reads || i.stats.reads >= 3, 1000, 'pages');
      expect(i.stats.reads).toBe(3); // two full pages and a short one
      expect(i.accounts).toBe(1);
    });

    it('reads nothing for a subscriber at the head; no truncation when nothing was pruned past it', async () => {
      const log = new MemoryLog();
      log.append(4);
      log.oldest = 3;
      const i = still(log);
      const atHead = sink();
      const justKept = sink();
      const fromNow = sink();
      await i.subscribe('a', 4, atHead);
      await i.subscribe('a', undefined, fromNow);
      expect(log.reads).toBe(0);
      await i.subscribe('b', 2, justKept);
      expect([atHead.truncatedAt, fromNow.truncatedAt, justKept.truncatedAt]).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
      await waitFor(() => justKept.got.length === 2, 1000, 'kept');
      const beyond = sink();
      const sub = await i.subscribe('c', 99, beyond);
      expect(sub.cursor).toBe(4);
    });

    it('forgets an account when its last subscriber leaves, counts slow closes and read errors', async () => {
      const log = new MemoryLog();
      const errors: unknown[] = [];
      const i = still(log, errors);
      const a = await i.subscribe('a', undefined, sink());
      const b = await i.subscribe('a', undefined, sink());
      expect([i.subscribers, i.accounts]).toEqual([2, 1]);
      a.unsubscribe();
      a.unsubscribe();
      expect([i.subscribers, i.accounts]).toEqual([1, 1]);
      b.unsubscribe();
      expect([i.subscribers, i.accounts]).toEqual([0, 0]);
      i.notify('a'); // nobody listens: no read
      expect(log.reads).toBe(0);

      const slow = sink(0);
      await i.subscribe('s', undefined, slow);
      log.append(1);
      i.notify('s');
      await waitFor(() => i.stats.slowClosed === 1, 1000, 'slow closed');
      await waitFor(() => i.accounts === 0, 1000, 'its account forgotten');
      expect(i.subscribers).toBe(0);

      log.fail = true;
      const s = sink();
      await i.subscribe('e', 0, s);
      await waitFor(() => i.stats.readErrors === 1, 1000, 'a read error');
      expect(errors).toHaveLength(1);
      log.fail = false;
      i.notify('e');
      await waitFor(() => s.got.length === 1, 1000, 'after the error');
    });
  });
});
