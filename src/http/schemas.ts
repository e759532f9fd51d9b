import { Type } from '@sinclair/typebox';
import { ERROR_ACTIONS, ERROR_CODES, type ErrorAction, type ErrorCode } from '../errors/catalog.ts';
import { MESSAGE_STATUSES } from '../messaging/vocabulary.ts';

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
export const UuidString = Type.String({ pattern: UUID_PATTERN, minLength: 36, maxLength: 36 });
export const IdParams = Type.Object({ id: UuidString });

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      // String enums, not unions of literals: fast-json-stringify builds an Ajv instance for every
      // serializer whose schema holds an anyOf, and this schema is in every route's error
      // responses (~540 instances, most of the gateway's live heap, marked by every full GC).
      code: Type.Unsafe<ErrorCode>({
        type: 'string',
        enum: [...ERROR_CODES],
        description: 'stable machine-readable code (src/errors/catalog.ts)',
      }),
      message: Type.String(),
      action: Type.Unsafe<ErrorAction>({
        type: 'string',
        enum: [...ERROR_ACTIONS],
        description: 'what the caller should do',
      }),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'Error' },
);

/** Error responses every route may give (referenced by $id). */
export const ERROR_RESPONSES = {
  400: { $ref: 'Error#' },
  401: { $ref: 'Error#' },
  404: { $ref: 'Error#' },
  409: { $ref: 'Error#' },
  422: { $ref: 'Error#' },
  503: { $ref: 'Error#' },
} as const;

export const SendBody = Type.Object(
  {
    to: Type.String({ minLength: 1, maxLength: 32, description: 'destination, E.164 preferred' }),
    body: Type.String({ maxLength: 10_000 }),
    from: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 32,
        description:
          "one of the account's numbers; omitted: the contact's assigned number, else the number the contact last texted, else the user's default (userId), else the account's default, else 422 NO_SENDER_NUMBER",
      }),
    ),
    userId: Type.Optional(
      Type.String({
        pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
        description: 'the team member sending (GET /v1/users); 422 UNKNOWN_USER when not of this account',
      }),
    ),
    statusCallback: Type.Optional(
      Type.String({ maxLength: 2048, description: 'URL receiving signed status events' }),
    ),
    metadata: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'echoed in callbacks; at most 4 KB of JSON, nested at most 8 deep',
      }),
    ),
    sendAt: Type.Optional(Type.String({ description: 'ISO 8601 time to send at (scheduled)' })),
    quietHours: Type.Optional(
      Type.Union([Type.Literal('schedule'), Type.Literal('reject')], {
        description:
          "inside the recipient's quiet hours: wait for the window (schedule) or refuse with QUIET_HOURS (reject); default the account's setting",
      }),
    ),
    trackLinks: Type.Optional(
      Type.Boolean({
        description:
          "shorten the body's http(s) and www. links to tracked short links (PARLEY_LINK_BASE_URL); default the account's trackLinks setting",
      }),
    ),
  },
  { additionalProperties: false },
);

export const AcceptedBody = Type.Object({
  id: Type.String(),
  status: Type.String(),
  segments: Type.Integer(),
  encoding: Type.String(),
  from: Type.String({ description: "the account's number it goes from" }),
  warnings: Type.Optional(
    Type.Array(Type.String(), {
      description: 'accepted, with advice: business_name_missing (a first message should name the business)',
    }),
  ),
});

export const BatchBody = Type.Object(
  { messages: Type.Array(SendBody, { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);

export const BatchResult = Type.Object({
  accepted: Type.Integer(),
  rejected: Type.Integer(),
  results: Type.Array(
    Type.Object({
      index: Type.Integer(),
      id: Type.Optional(Type.String()),
      status: Type.Optional(Type.String()),
      segments: Type.Optional(Type.Integer()),
      encoding: Type.Optional(Type.String()),
      from: Type.Optional(Type.String()),
      warnings: Type.Optional(Type.Array(Type.String())),
      error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
    }),
  ),
});

const MessageFields = {
  id: Type.String(),
  from: Type.String(),
  to: Type.String(),
  body: Type.String(),
  status: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  errorCode: Type.Union([Type.String(), Type.Null()]),
  encoding: Type.String(),
  segments: Type.Integer(),
  possibleDuplicate: Type.Boolean(),
  statusCallback: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  sendAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
};

export const MessageBody = Type.Object(MessageFields);

export const MessageDetailBody = Type.Object({
  ...MessageFields,
  parts: Type.Array(
    Type.Object({
      index: Type.Integer(),
      status: Type.String(),
      carrier: Type.Union([Type.String(), Type.Null()]),
      smscMessageId: Type.Union([Type.String(), Type.Null()]),
      attempts: Type.Integer(),
      possibleDuplicate: Type.Boolean(),
      errorCode: Type.Union([Type.String(), Type.Null()]),
      reason: Type.Union([Type.String(), Type.Null()]),
      submittedAt: Type.Union([Type.String(), Type.Null()]),
      doneAt: Type.Union([Type.String(), Type.Null()]),
      nextAttemptAt: Type.Union([Type.String(), Type.Null()], {
        description:
          'a part that waits (a rate limit, a daily cap, quiet hours, a pending registration: see reason) is tried again then',
      }),
    }),
  ),
  history: Type.Array(
    Type.Object({
      status: Type.String(),
      reason: Type.Union([Type.String(), Type.Null()]),
      at: Type.String(),
    }),
  ),
  links: Type.Array(
    Type.Object({
      code: Type.String({ description: 'the short link is PARLEY_LINK_BASE_URL + code' }),
      url: Type.String(),
      clicks: Type.Integer({ description: 'counted clicks (link-preview bots and HEAD requests are not)' }),
      firstClickAt: Type.Union([Type.String(), Type.Null()]),
      lastClickAt: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  clicked: Type.Object({
    total: Type.Integer(),
    unique: Type.Integer({ description: 'links clicked at least once' }),
  }),
});

export const ListQuery = Type.Object({
  status: Type.Optional(Type.Union(MESSAGE_STATUSES.map((s) => Type.Literal(s)))),
  from: Type.Optional(Type.String({ maxLength: 32 })),
  to: Type.Optional(Type.String({ maxLength: 32 })),
  createdAfter: Type.Optional(Type.String({ description: 'ISO 8601, inclusive' })),
  createdBefore: Type.Optional(Type.String({ description: 'ISO 8601, exclusive' })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
});

export const EncodeBody = Type.Object(
  {
    body: Type.String({ maxLength: 10_000 }),
    allowLatin1: Type.Optional(Type.Boolean()),
    to: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 32,
        description: 'the recipient: the first message to them gets the opt-out footer, counted here',
      }),
    ),
    trackLinks: Type.Optional(
      Type.Boolean({ description: "count with links shortened (default the account's trackLinks setting)" }),
    ),
  },
  { additionalProperties: false },
);

export const EncodeResult = Type.Object({
  encoding: Type.String(),
  dataCoding: Type.Integer(),
  segments: Type.Integer(),
  parts: Type.Array(Type.Object({ text: Type.String(), octets: Type.Integer() })),
  charactersForcingUcs2: Type.Array(Type.String()),
  footer: Type.Optional(
    Type.Object({
      applies: Type.Boolean({ description: 'this would be the first message to `to`: the footer is added' }),
      addsSegments: Type.Integer({ description: 'segments the footer adds' }),
    }),
  ),
});
