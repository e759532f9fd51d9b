import { Type } from '@sinclair/typebox';
import { CONSENT_SOURCES } from '../../compliance/consent.ts';
import { MAX_KEYWORD_LENGTH } from '../../compliance/keywords.ts';
import { isValidWindow } from '../../compliance/quiet-hours.ts';
import type { ComplianceSettings } from '../../compliance/settings.ts';
import { AppError } from '../../errors/app-error.ts';
import { toE164 } from '../../numbers/phone.ts';
import { db } from '../../store/db-errors.ts';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { ERROR_RESPONSES as err, IdParams } from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';
import { accountNumber } from './users.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const ContactBody = Type.Object({
  id: Type.String(),
  number: Type.String({ description: 'E.164' }),
  name: Nullable(Type.String()),
  timeZone: Nullable(Type.String()),
  assignedNumber: Nullable(Type.String({ description: "the account's number this contact is sent from" })),
  firstMessageAt: Nullable(
    Type.String({
      description:
        'when the account first sent the contact a message (the first one sent while the footer was on carried it)',
    }),
  ),
  optedOut: Type.Boolean({ description: 'Do-Not-Disturb: nothing but compliance replies goes to them' }),
  optedOutSource: Nullable(Type.String()),
  consentChangedAt: Nullable(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

const ConsentEventBody = Type.Object({
  id: Type.String(),
  action: Type.Union([Type.Literal('opt_out'), Type.Literal('opt_in')]),
  source: Type.Union(CONSENT_SOURCES.map((s) => Type.Literal(s))),
  keyword: Nullable(Type.String()),
  text: Nullable(Type.String()),
  number: Nullable(Type.String()),
  inboundMessageId: Nullable(Type.String()),
  at: Type.String(),
});

const Name = Type.String({ minLength: 1, maxLength: 200 });
const TimeZone = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'IANA time zone, e.g. America/Chicago',
});

const NewContact = Type.Object(
  {
    number: Type.String({ minLength: 1, maxLength: 32 }),
    name: Type.Optional(Name),
    timeZone: Type.Optional(TimeZone),
  },
  { additionalProperties: false },
);
const ContactPatch = Type.Object(
  {
    name: Type.Optional(Nullable(Name)),
    timeZone: Type.Optional(Nullable(TimeZone)),
    assignedNumber: Type.Optional(
      Nullable(
        Type.String({
          minLength: 1,
          maxLength: 32,
          description: "one of the account's numbers; null clears",
        }),
      ),
    ),
    optedOut: Type.Optional(Type.Boolean({ description: 'record an opt-out or opt-in (source api)' })),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object(
  {
    number: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    optedOut: Type.Optional(Type.Boolean()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export const OptOutImport = Type.Object(
  { numbers: Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { minItems: 1, maxItems: 10_000 }) },
  { additionalProperties: false },
);

const Keywords = Type.Array(Type.String({ minLength: 1, maxLength: MAX_KEYWORD_LENGTH }), { maxItems: 50 });
const Reply = Type.String({ minLength: 1, maxLength: 480 });
const HHMM = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM, local time' });
const QuietHours = Type.Object(
  {
    enabled: Type.Boolean(),
    start: HHMM,
    end: HHMM,
    mode: Type.Union([Type.Literal('schedule'), Type.Literal('reject')]),
    timeZone: Type.String({ minLength: 1, maxLength: 64, description: "the account's IANA zone" }),
    stateRules: Type.Boolean({
      description:
        "also the recipient state's telephone-solicitation hours (FL, OK, MD, WA, CT, TX, KY, MI, MN, NM, NV, AL, LA, MS), strictest wins",
    }),
  },
  {
    additionalProperties: false,
    description: 'messages are submitted only from start to end, recipient local time',
  },
);
const Footer = Type.Object(
  {
    enabled: Type.Boolean(),
    text: Type.String({ minLength: 1, maxLength: 120, description: 'e.g. "Reply STOP to unsubscribe."' }),
  },
  { additionalProperties: false, description: 'appended on a new line to the first message to each contact' },
);
const FrequencyCap = Type.Object(
  {
    enabled: Type.Boolean(),
    max: Type.Integer({ minimum: 1, maximum: 1000 }),
    hours: Type.Integer({ minimum: 1, maximum: 24 * 31 }),
  },
  { additionalProperties: false, description: 'at most max messages to one contact per hours' },
);
const KeywordLists = Type.Object(
  { optOut: Keywords, optIn: Keywords, help: Keywords },
  { additionalProperties: false },
);
export const ComplianceSettingsBody = Type.Object(
  {
    businessName: Type.String({ maxLength: 100 }),
    keywords: KeywordLists,
    optOutReply: Reply,
    optInReply: Reply,
    helpReply: Reply,
    detectPhrases: Type.Boolean(),
    quietHours: QuietHours,
    footer: Footer,
    frequencyCap: FrequencyCap,
    trackLinks: Type.Boolean({
      description: 'shorten links to tracked short links unless a request says otherwise',
    }),
  },
  { additionalProperties: false },
);
const ComplianceSettingsPatch = Type.Partial(
  Type.Object(
    {
      ...ComplianceSettingsBody.properties,
      keywords: Type.Partial(KeywordLists, { additionalProperties: false }),
      quietHours: Type.Partial(QuietHours, { additionalProperties: false }),
      footer: Type.Partial(Footer, { additionalProperties: false }),
      frequencyCap: Type.Partial(FrequencyCap, { additionalProperties: false }),
    },
    { additionalProperties: false },
  ),
  { additionalProperties: false },
);

function validTimeZone(tz: string | null | undefined): void {
  if (tz === undefined || tz === null) return;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new AppError('VALIDATION_FAILED', `timeZone ${tz.slice(0, 64)} is not an IANA time zone`);
  }
}

export const OptOutImportResult = Type.Object({
  optedOut: Type.Integer(),
  alreadyOptedOut: Type.Integer(),
  invalid: Type.Array(Type.Object({ index: Type.Integer(), number: Type.String() })),
});

/**
 * Records an existing opt-out list for an account (source `import`): each number opted out once,
 * duplicates skipped, unreadable ones listed back by index. Throws DATABASE_UNAVAILABLE (503) when
 * the database fails (what was recorded before stays; importing again is harmless).
 */
export async function importOptOuts(
  deps: HttpDeps,
  accountId: string,
  numbers: readonly string[],
): Promise<{ optedOut: number; alreadyOptedOut: number; invalid: Array<{ index: number; number: string }> }> {
  let optedOut = 0;
  let alreadyOptedOut = 0;
  const invalid: Array<{ index: number; number: string }> = [];
  const seen = new Set<string>();
  for (const [index, raw] of numbers.entries()) {
    let n: string;
    try {
      n = toE164(raw, deps.defaultRegion, 'INVALID_PHONE_NUMBER');
    } catch {
      invalid.push({ index, number: raw.slice(0, 32) });
      continue;
    }
    if (seen.has(n)) continue;
    seen.add(n);
    const r = await db(
      deps.compliance.change({ accountId, contact: n, action: 'opt_out', source: 'import' }),
    );
    if (r.changed) optedOut++;
    else alreadyOptedOut++;
  }
  return { optedOut, alreadyOptedOut, invalid };
}

/**
 * /v1/contacts (list, search by number, create, read, update, consent log, opt-out import) and
 * /v1/settings/messaging-compliance. Account-scoped.
 */
export function registerContactRoutes(app: App, deps: HttpDeps): void {
  const config = { auth: 'account' as const };
  const e164 = (n: string) => toE164(n, deps.defaultRegion, 'INVALID_PHONE_NUMBER');

  app.get(
    '/v1/contacts',
    {
      config,
      schema: {
        summary: 'Contacts, newest first; `number` finds one by phone number',
        querystring: ListQuery,
        response: {
          200: Type.Object({ data: Type.Array(ContactBody), nextCursor: Nullable(Type.String()) }),
          ...err,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = q.limit ?? 50;
      const before = q.cursor ? decodeCursor(q.cursor) : undefined;
      const data = await db(
        deps.contacts.listContacts(req.accountId, {
          number: q.number === undefined ? undefined : e164(q.number),
          optedOut: q.optedOut,
          limit,
          before: before ? { at: before.createdAt.toISOString(), id: before.id } : undefined,
        }),
      );
      const last = data[data.length - 1];
      return {
        data,
        nextCursor: data.length === limit && last ? encodeCursor(last.createdAt, last.id) : null,
      };
    },
  );

  app.post(
    '/v1/contacts',
    {
      config,
      schema: {
        summary: 'Create a contact (200 with the existing one when the number is known)',
        body: NewContact,
        response: { 201: ContactBody, 200: ContactBody, ...err },
      },
    },
    async (req, reply) => {
      validTimeZone(req.body.timeZone);
      const r = await db(
        deps.contacts.createContact(req.accountId, { ...req.body, number: e164(req.body.number) }),
      );
      return reply.status(r.created ? 201 : 200).send(r.contact);
    },
  );

  app.get(
    '/v1/contacts/:id',
    { config, schema: { summary: 'One contact', params: IdParams, response: { 200: ContactBody, ...err } } },
    async (req) => {
      const c = await db(deps.contacts.getContact(req.accountId, req.params.id));
      if (!c) throw new AppError('CONTACT_NOT_FOUND');
      return c;
    },
  );

  app.patch(
    '/v1/contacts/:id',
    {
      config,
      schema: {
        summary:
          'Update name or time zone; `optedOut` records an opt-out or opt-in made elsewhere (source api)',
        params: IdParams,
        body: ContactPatch,
        response: { 200: ContactBody, ...err },
      },
    },
    async (req) => {
      validTimeZone(req.body.timeZone);
      const assigned = req.body.assignedNumber;
      if (assigned !== undefined) {
        const e164 = assigned === null ? null : await accountNumber(deps, req.accountId, assigned);
        if (!(await db(deps.senders.assignNumber(req.accountId, req.params.id, e164))))
          throw new AppError('CONTACT_NOT_FOUND');
      }
      let c = await db(deps.contacts.updateContact(req.accountId, req.params.id, req.body));
      if (!c) throw new AppError('CONTACT_NOT_FOUND');
      if (req.body.optedOut === undefined || req.body.optedOut === c.optedOut) return c;
      await db(
        deps.compliance.change({
          accountId: req.accountId,
          contact: c.number,
          action: req.body.optedOut ? 'opt_out' : 'opt_in',
          source: 'api',
        }),
      );
      c = await db(deps.contacts.getContact(req.accountId, c.id));
      return c!;
    },
  );

  app.get(
    '/v1/contacts/:id/consent',
    {
      config,
      schema: {
        summary: "The contact's consent history: every opt-out and opt-in, with its source and text",
        params: IdParams,
        response: { 200: Type.Object({ data: Type.Array(ConsentEventBody) }), ...err },
      },
    },
    async (req) => {
      const c = await db(deps.contacts.getContact(req.accountId, req.params.id));
      if (!c) throw new AppError('CONTACT_NOT_FOUND');
      return { data: await db(deps.contacts.consentLog(req.accountId, c.id)) };
    },
  );

  app.post(
    '/v1/contacts/opt-outs',
    {
      config,
      schema: {
        summary:
          'Import an existing opt-out list (source import); numbers that cannot be read are listed back',
        body: OptOutImport,
        response: { 200: OptOutImportResult, ...err },
      },
    },
    async (req) => importOptOuts(deps, req.accountId, req.body.numbers),
  );

  app.get(
    '/v1/settings/messaging-compliance',
    {
      config,
      schema: {
        summary: 'Keywords, confirmation and HELP replies, business name, phrase detection',
        response: { 200: ComplianceSettingsBody, ...err },
      },
    },
    async (req) => (await db(deps.contacts.settings([req.accountId]))).get(req.accountId)!,
  );

  app.put(
    '/v1/settings/messaging-compliance',
    {
      config,
      schema: {
        summary: 'Change compliance settings (fields left out keep their value)',
        body: ComplianceSettingsPatch,
        response: { 200: ComplianceSettingsBody, ...err },
      },
    },
    async (req) => {
      const current = (await db(deps.contacts.settings([req.accountId]))).get(req.accountId)!;
      const next: ComplianceSettings = {
        ...current,
        ...req.body,
        keywords: { ...current.keywords, ...(req.body.keywords ?? {}) },
        quietHours: { ...current.quietHours, ...(req.body.quietHours ?? {}) },
        footer: { ...current.footer, ...(req.body.footer ?? {}) },
        frequencyCap: { ...current.frequencyCap, ...(req.body.frequencyCap ?? {}) },
      };
      if (next.keywords.optOut.length === 0)
        throw new AppError(
          'VALIDATION_FAILED',
          'keywords.optOut must keep at least one keyword (STOP is expected)',
        );
      if (!isValidWindow(next.quietHours))
        throw new AppError('VALIDATION_FAILED', 'quietHours.start must be before quietHours.end (HH:MM)');
      validTimeZone(next.quietHours.timeZone);
      await db(deps.contacts.putSettings(req.accountId, next));
      deps.complianceSettings.invalidate(req.accountId);
      return next;
    },
  );
}
