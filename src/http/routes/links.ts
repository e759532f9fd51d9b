import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.ts';
import { parseDateTime } from '../../messaging/compose.ts';
import { bucketStart, grouped, type Interval, MAX_BUCKETS, series } from '../../metrics/number-metrics.ts';
import { db, dbErrorToAppError } from '../../store/db-errors.ts';
import { ERROR_RESPONSES as err, IdParams } from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';

const NOT_FOUND_PAGE =
  '<!doctype html><html><head><meta charset="utf-8"><title>Link not found</title></head>' +
  '<body><h1>Link not found</h1><p>This link is not valid or no longer exists.</p></body></html>';

const Count = Type.Integer({ minimum: 0 });
const FiguresBody = {
  sent: Type.Integer({ description: 'taken by the SMSC' }),
  delivered: Count,
  failed: Type.Object({
    total: Count,
    refusedAtAccept: Type.Integer({ description: 'of total: refused by the API (4xx), never stored' }),
    byReason: Type.Record(Type.String(), Count, {
      description:
        'contact_opted_out, invalid_number, carrier_filtered, unregistered, quiet_hours, expired, other',
    }),
  }),
  clicked: Type.Object({
    unique: Type.Integer({ description: 'links clicked at least once (one per message and URL)' }),
    total: Count,
  }),
  deliveryRatio: Type.Union([Type.Number(), Type.Null()], { description: 'delivered / sent' }),
  segments: Type.Integer({ description: 'segments sent' }),
};
const RangeQuery = {
  from: Type.Optional(
    Type.String({ description: 'ISO 8601; default: 24 h (hour) or 30 days (day) before to' }),
  ),
  to: Type.Optional(Type.String({ description: 'ISO 8601, exclusive; default now' })),
};

function range(q: { from?: string | undefined; to?: string | undefined }, interval: Interval) {
  const to = q.to === undefined ? new Date() : parseDateTime('to', q.to);
  const from =
    q.from === undefined
      ? new Date(to.getTime() - (interval === 'hour' ? 86_400_000 : 30 * 86_400_000))
      : parseDateTime('from', q.from);
  if (from.getTime() >= to.getTime()) throw new AppError('VALIDATION_FAILED', 'from must be before to');
  const step = interval === 'hour' ? 3_600_000 : 86_400_000;
  if ((to.getTime() - from.getTime()) / step > MAX_BUCKETS)
    throw new AppError('VALIDATION_FAILED', `at most ${MAX_BUCKETS} ${interval}s per request`);
  return { from, to };
}

/**
 * GET /l/:code, the public redirector (302 to the link's URL; a click is recorded unless a bot or
 * a HEAD request followed it), and the account's per-number delivery figures.
 */
export function registerLinkRoutes(app: App, deps: HttpDeps): void {
  app.get(
    '/l/:code',
    {
      config: { auth: 'public' as const },
      schema: { hide: true, params: Type.Object({ code: Type.String({ maxLength: 64 }) }) },
    },
    async (req, reply) => {
      let target: Awaited<ReturnType<typeof deps.links.resolve>>;
      try {
        target = await deps.links.resolve(req.params.code);
      } catch (e) {
        throw dbErrorToAppError(e);
      }
      if (!target) return reply.status(404).type('text/html; charset=utf-8').send(NOT_FOUND_PAGE);
      // A HEAD is a link checker asking, not a person following the link.
      if (req.method === 'GET') await deps.links.click(req.params.code, req.headers['user-agent']);
      return reply
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .redirect(target.url, 302);
    },
  );

  const config = { auth: 'account' as const };
  app.get(
    '/v1/numbers/:id/metrics',
    {
      config,
      schema: {
        summary:
          "One number's sent, delivered, failed (by reason), clicked, delivery ratio and segments per hour or day (UTC)",
        params: IdParams,
        querystring: Type.Object(
          { ...RangeQuery, interval: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')])) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            number: Type.String(),
            interval: Type.String(),
            from: Type.String(),
            to: Type.String(),
            buckets: Type.Array(Type.Object({ start: Type.String(), ...FiguresBody })),
            totals: Type.Object(FiguresBody),
          }),
          ...err,
        },
      },
    },
    async (req) => {
      const interval = req.query.interval ?? 'hour';
      const { from, to } = range(req.query, interval);
      const [n] = await db(deps.accounts.numberDetails(req.accountId, req.params.id));
      if (!n) throw new AppError('NUMBER_NOT_FOUND');
      const rows = await db(
        // Whole buckets: the first one shown holds everything of its hour or day.
        deps.numberStats.rows({
          accountId: req.accountId,
          numbers: [n.number],
          from: bucketStart(from, interval),
          to,
        }),
      );
      const s = series(rows, interval, from, to);
      return { number: n.number, interval, from: from.toISOString(), to: to.toISOString(), ...s };
    },
  );

  app.get(
    '/v1/metrics/messages',
    {
      config,
      schema: {
        summary: "The account's figures per number or per UTC day",
        querystring: Type.Object(
          {
            ...RangeQuery,
            groupBy: Type.Optional(Type.Union([Type.Literal('number'), Type.Literal('day')])),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            groupBy: Type.String(),
            from: Type.String(),
            to: Type.String(),
            data: Type.Array(
              Type.Object({ key: Type.String({ description: 'the number, or the day' }), ...FiguresBody }),
            ),
          }),
          ...err,
        },
      },
    },
    async (req) => {
      const groupBy = req.query.groupBy ?? 'number';
      const { from, to } = range(req.query, 'day');
      const rows = await db(
        deps.numberStats.rows({
          accountId: req.accountId,
          numbers: undefined,
          from: bucketStart(from, groupBy === 'day' ? 'day' : 'hour'),
          to,
        }),
      );
      return { groupBy, from: from.toISOString(), to: to.toISOString(), data: grouped(rows, groupBy) };
    },
  );
}
