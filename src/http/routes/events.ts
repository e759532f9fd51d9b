import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { LIVE_EVENT_TYPES, type LiveEvent, parseLastEventId } from '../../conversations/live-events.ts';
import type { LiveSink } from '../../conversations/live-inbox.ts';
import { AppError } from '../../errors/app-error.ts';
import { dbErrorToAppError } from '../../store/db-errors.ts';
import { ERROR_RESPONSES as err } from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';

interface SseMessage {
  id?: string;
  event: string;
  data: unknown;
}

/**
 * One SSE connection: events queue here and are written in order, each write waiting for the
 * socket to drain. A client that lets more than `maxQueued` pile up is disconnected (memory stays
 * bounded); it resumes with Last-Event-ID and misses nothing.
 */
class SseSink implements LiveSink {
  private readonly queue: SseMessage[] = [];
  private writing = false;
  private closed = false;

  constructor(
    private readonly reply: FastifyReply,
    private readonly maxQueued: number,
  ) {}

  push(events: readonly LiveEvent[]): boolean {
    if (this.closed) return false;
    if (this.queue.length + events.length > this.maxQueued) {
      this.close();
      return false;
    }
    for (const e of events) this.queue.push({ id: String(e.seq), event: e.type, data: e.data });
    void this.flush();
    return true;
  }

  truncated(oldest: number): void {
    this.send({ event: 'events.truncated', data: { oldest } });
  }

  send(m: SseMessage): void {
    if (this.closed) return;
    this.queue.push(m);
    void this.flush();
  }

  end(): void {
    this.close();
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.reply.sse.close();
  }

  private async flush(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.queue.length > 0 && !this.closed && this.reply.sse.isConnected) {
        await this.reply.sse.send(this.queue.shift()!);
      }
    } catch {
      this.closed = true; // the client went away
    } finally {
      this.writing = false;
    }
  }
}

/** GET /v1/events: the account's live inbox as Server-Sent Events (@fastify/sse). */
export function registerEventRoutes(app: App, deps: HttpDeps): void {
  app.get(
    '/v1/events',
    {
      config: { auth: 'account' as const },
      sse: { kind: 'manual' },
      schema: {
        summary: `The account's live inbox as Server-Sent Events: ${LIVE_EVENT_TYPES.join(', ')}. Each has an id; reconnect with Last-Event-ID to get everything after it (kept for the retention time; older: an events.truncated event). First a ready event; heartbeat comments keep proxies open.`,
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 32 })) }),
        response: { ...err },
      },
    },
    async (req, reply) => {
      const after = parseLastEventId(req.headers['last-event-id']);
      if (after === null)
        throw new AppError('VALIDATION_FAILED', 'Last-Event-ID must be an event id this API gave (digits)');
      if (deps.inbox.full)
        throw new AppError('OVERLOADED', 'too many live-inbox connections on this instance');
      const sink = new SseSink(reply, deps.eventsMaxQueued);
      let sub: Awaited<ReturnType<HttpDeps['inbox']['subscribe']>>;
      try {
        sub = await deps.inbox.subscribe(req.accountId, after, sink);
      } catch (e) {
        throw dbErrorToAppError(e);
      }
      reply.sse.keepAlive();
      reply.sse.onClose(sub.unsubscribe);
      // A live stream is idle between events: the server's idle-socket timeout must not cut it.
      req.raw.socket.setTimeout(0);
      sink.send({ event: 'ready', data: { after: sub.cursor } });
    },
  );
}
