/**
 * Every error code the gateway gives to a client or an operator, defined once: the HTTP status it
 * answers with and what the caller should do. Codes are stable across releases; messages may change.
 */

/** What a caller should do about an error; stable across releases and an enum in the OpenAPI schema. */
export const ERROR_ACTIONS = [
  'retry',
  'permanent',
  'throttle',
  'rebind',
  'fix-request',
  'fix-config',
  'authenticate',
] as const;
export type ErrorAction = (typeof ERROR_ACTIONS)[number];

interface ErrorDef {
  readonly status: number;
  readonly action: ErrorAction;
  /** Default message when the thrower gives none. */
  readonly message: string;
}

const def = (status: number, action: ErrorAction, message: string): ErrorDef => ({ status, action, message });

export const ERROR_CATALOG = {
  // Request shape (400)
  BAD_REQUEST: def(400, 'fix-request', 'the request could not be read'),
  VALIDATION_FAILED: def(400, 'fix-request', 'the request does not match the schema'),
  INVALID_JSON: def(400, 'fix-request', 'the body is not valid JSON'),
  INVALID_CHARACTERS: def(
    400,
    'fix-request',
    'text must be well-formed Unicode without NUL (U+0000) characters',
  ),
  TOO_DEEPLY_NESTED: def(400, 'fix-request', 'the JSON is nested too deeply'),
  INVALID_TO_NUMBER: def(400, 'fix-request', 'the destination is not a phone number we can send to'),
  INVALID_FROM_NUMBER: def(400, 'fix-request', 'the sender is not a phone number'),
  INVALID_PHONE_NUMBER: def(400, 'fix-request', 'not a phone number'),
  INVALID_SHORT_CODE: def(400, 'fix-request', 'a short code is 3 to 8 digits'),
  INVALID_ID: def(400, 'fix-request', 'the id is not a UUID'),
  INVALID_DATE: def(400, 'fix-request', 'dates are ISO 8601 date-times between 1970 and 9999'),
  INVALID_CURSOR: def(400, 'fix-request', 'cursor is not one this API returned'),
  INVALID_SEND_AT: def(400, 'fix-request', 'sendAt must be an ISO 8601 date-time at most 35 days ahead'),
  INVALID_CALLBACK_URL: def(
    400,
    'fix-request',
    'callback URLs must be http(s) URLs of a public host (not loopback, private or reserved addresses)',
  ),
  BODY_EMPTY: def(400, 'fix-request', 'body must not be empty'),
  BODY_TOO_LONG: def(400, 'fix-request', 'body needs more segments than allowed'),
  METADATA_TOO_LARGE: def(400, 'fix-request', 'metadata must be at most 4 KB of JSON, nested at most 8 deep'),
  UNSTORABLE_INPUT: def(400, 'fix-request', 'the database refused this item; nothing of it was stored'),
  // HTTP level
  UNAUTHORIZED: def(401, 'authenticate', 'send your API key as "Authorization: Bearer <key>"'),
  ADMIN_DISABLED: def(403, 'fix-config', 'set PARLEY_ADMIN_TOKEN to enable the admin API'),
  NOT_FOUND: def(404, 'fix-request', 'no such resource'),
  ACCOUNT_NOT_FOUND: def(404, 'fix-request', 'no such account'),
  NUMBER_NOT_FOUND: def(404, 'fix-request', "not one of this account's numbers"),
  API_KEY_NOT_FOUND: def(404, 'fix-request', 'no such API key'),
  METHOD_NOT_ALLOWED: def(405, 'fix-request', 'method not allowed'),
  REQUEST_TIMEOUT: def(408, 'retry', 'the request was not received in time'),
  IDEMPOTENCY_CONFLICT: def(409, 'fix-request', 'this Idempotency-Key was used with a different request'),
  NUMBER_TAKEN: def(409, 'fix-request', 'the number is already assigned'),
  EMAIL_TAKEN: def(409, 'fix-request', 'another user of this account has this email'),
  PRICE_CHANGED: def(
    409,
    'fix-request',
    'the monthly cost is no longer the quoted one; confirm the new price',
  ),
  NUMBER_UNAVAILABLE: def(409, 'fix-request', 'the number is no longer for sale; search again'),
  BODY_TOO_LARGE: def(413, 'fix-request', 'the request body is too large'),
  URI_TOO_LONG: def(414, 'fix-request', 'the request URI is too long'),
  UNSUPPORTED_MEDIA_TYPE: def(415, 'fix-request', 'send application/json'),
  HEADERS_TOO_LARGE: def(431, 'fix-request', 'the request headers are too large'),
  NO_SENDER_NUMBER: def(
    422,
    'fix-request',
    "no number to send from: give `from`, assign the contact a number, or set the user's or the account's default number",
  ),
  UNKNOWN_USER: def(422, 'fix-request', 'userId is not a user of this account'),
  CONTACT_OPTED_OUT: def(
    422,
    'fix-request',
    'the contact opted out (replied STOP or similar); nothing may be sent to them until they reply START',
  ),
  CONTACT_NOT_FOUND: def(404, 'fix-request', 'no such contact'),
  USER_NOT_FOUND: def(404, 'fix-request', 'no such user'),
  BRAND_NOT_FOUND: def(404, 'fix-request', 'no such brand'),
  BRAND_LOCKED: def(409, 'fix-request', 'a brand under review or approved cannot be changed'),
  CAMPAIGN_NOT_FOUND: def(404, 'fix-request', 'no such campaign'),
  NUMBER_NOT_REGISTERED: def(
    422,
    'fix-config',
    'the sending number is not assigned to an approved 10DLC campaign (PUT /v1/numbers/:id/campaign)',
  ),
  TOLL_FREE_NOT_VERIFIED: def(
    422,
    'fix-config',
    'the toll-free sending number is not verified (PUT /v1/numbers/:id/toll-free-verification)',
  ),
  NOT_TOLL_FREE: def(422, 'fix-request', 'toll-free verification is for a toll-free number of this account'),
  VERIFICATION_LOCKED: def(409, 'fix-request', 'a verification in review or verified cannot be replaced'),
  CAMPAIGN_LOCKED: def(409, 'fix-request', 'a campaign under review or approved cannot be changed'),
  BRAND_NOT_APPROVED: def(
    422,
    'fix-request',
    'the brand is not approved yet; campaigns need an approved brand',
  ),
  CAMPAIGN_NOT_APPROVED: def(
    422,
    'fix-request',
    'numbers are assigned only to an approved campaign of the account',
  ),
  FREQUENCY_CAP: def(
    422,
    'fix-request',
    "the account's per-contact frequency cap is reached; send again after its period",
  ),
  QUIET_HOURS: def(
    422,
    'fix-request',
    "it is quiet hours where the recipient is; send later, or ask for quietHours: 'schedule'",
  ),
  SENDER_QUEUE_FULL: def(
    429,
    'throttle',
    "the sending number's queue holds more than its cap (hours of its rate limit); send again after Retry-After, or from another number",
  ),
  // Server side
  OVERLOADED: def(503, 'retry', 'the gateway is saturated; nothing was stored, try again shortly'),
  NUMBER_PROVIDER_UNAVAILABLE: def(503, 'retry', 'the number provider did not answer; nothing was bought'),
  REGISTRY_UNAVAILABLE: def(503, 'retry', 'the registry did not answer; nothing was submitted'),
  NO_REGISTRY: def(503, 'fix-config', 'no registry is configured (PARLEY_REGISTRY_URL)'),
  NO_NUMBER_PROVIDER: def(503, 'fix-config', 'no number provider is configured (PARLEY_NUMBER_PROVIDER_URL)'),
  DATABASE_UNAVAILABLE: def(
    503,
    'retry',
    'the database is unavailable; try again (with the same Idempotency-Key a retry never sends twice)',
  ),
  SHUTTING_DOWN: def(503, 'retry', 'the gateway is shutting down; try another instance or again shortly'),
  INTERNAL: def(500, 'retry', 'internal error; nothing about it depends on your request, try again'),
  // Operator side (configuration and carriers; not HTTP answers, but logged and counted)
  CONFIG_INVALID: def(500, 'fix-config', 'the configuration is invalid'),
  SMPP_PROTOCOL_ERROR: def(502, 'rebind', 'the SMSC broke the SMPP protocol'),
  SMPP_BIND_REJECTED: def(502, 'fix-config', 'the SMSC refused the bind'),
  SMPP_BIND_TIMEOUT: def(502, 'rebind', 'no bind response in time'),
  SMPP_BIND_FAILED: def(502, 'rebind', 'the bind failed'),
  SMPP_LINK_DEAD: def(502, 'rebind', 'enquire_link responses missed'),
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERROR_CATALOG;
export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];
