import { Type } from '@sinclair/typebox';

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'stable machine-readable code' }),
      message: Type.String(),
      action: Type.String({
        description: 'retry | permanent | throttle | rebind | fix-request | fix-config',
      }),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'Error' },
);

export const SendBody = Type.Object(
  {
    to: Type.String({ minLength: 1, maxLength: 32, description: 'destination, E.164 preferred' }),
    body: Type.String({ maxLength: 10_000 }),
    from: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 32,
        description: "one of the account's numbers; default: its first",
      }),
    ),
    statusCallback: Type.Optional(
      Type.String({ maxLength: 2048, description: 'URL receiving signed status events' }),
    ),
    metadata: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: 'echoed in callbacks; at most 4 KB' }),
    ),
    sendAt: Type.Optional(Type.String({ description: 'ISO 8601 time to send at (scheduled)' })),
  },
  { additionalProperties: false },
);

export const AcceptedBody = Type.Object({
  id: Type.String(),
  status: Type.String(),
  segments: Type.Integer(),
  encoding: Type.String(),
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
    }),
  ),
  history: Type.Array(
    Type.Object({
      status: Type.String(),
      reason: Type.Union([Type.String(), Type.Null()]),
      at: Type.String(),
    }),
  ),
});

export const ListQuery = Type.Object({
  status: Type.Optional(
    Type.Union(
      [
        'scheduled',
        'queued',
        'sending',
        'sent',
        'delivered',
        'undelivered',
        'failed',
        'expired',
        'rejected',
      ].map((s) => Type.Literal(s)),
    ),
  ),
  from: Type.Optional(Type.String({ maxLength: 32 })),
  to: Type.Optional(Type.String({ maxLength: 32 })),
  createdAfter: Type.Optional(Type.String({ description: 'ISO 8601, inclusive' })),
  createdBefore: Type.Optional(Type.String({ description: 'ISO 8601, exclusive' })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
});

export const EncodeBody = Type.Object(
  { body: Type.String({ maxLength: 10_000 }), allowLatin1: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);

export const EncodeResult = Type.Object({
  encoding: Type.String(),
  dataCoding: Type.Integer(),
  segments: Type.Integer(),
  parts: Type.Array(Type.Object({ text: Type.String(), octets: Type.Integer() })),
  charactersForcingUcs2: Type.Array(Type.String()),
});
