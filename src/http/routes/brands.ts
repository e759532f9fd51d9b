import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.ts';
import {
  type BrandDetails,
  brandProblems,
  ENTITY_TYPES,
  STOCK_EXCHANGES,
  VERTICALS,
} from '../../numbers/brands.ts';
import { toE164 } from '../../numbers/phone.ts';
import { db } from '../../store/db-errors.ts';
import { ERROR_RESPONSES as err, IdParams } from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';

const lit = <T extends string>(xs: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...xs] });
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });

const Details = Type.Object(
  {
    entityType: lit(ENTITY_TYPES),
    legalName: Text(255),
    ein: Type.Optional(
      Type.String({ maxLength: 20, description: 'US EIN NN-NNNNNNN; not for SOLE_PROPRIETOR' }),
    ),
    address: Type.Object(
      {
        street: Text(200),
        city: Text(100),
        state: Type.String({ pattern: '^[A-Z]{2}$' }),
        postalCode: Type.String({ minLength: 3, maxLength: 10 }),
        country: Type.String({ pattern: '^[A-Z]{2}$' }),
      },
      { additionalProperties: false },
    ),
    vertical: lit(VERTICALS),
    website: Type.Optional(Type.String({ maxLength: 255 })),
    email: Type.String({ minLength: 3, maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$' }),
    phone: Type.String({ minLength: 1, maxLength: 32 }),
    stockSymbol: Type.Optional(Type.String({ pattern: '^[A-Z0-9.]{1,10}$' })),
    stockExchange: Type.Optional(lit(STOCK_EXCHANGES)),
  },
  { additionalProperties: false },
);
const Brand = Type.Intersect([
  Details,
  Type.Object({
    id: Type.String(),
    status: Type.String({ description: 'draft → submitted → approved | rejected' }),
    registryId: Type.Union([Type.String(), Type.Null()]),
    rejectionReason: Type.Union([Type.String(), Type.Null()]),
    identityStatus: Type.Union([Type.String(), Type.Null()]),
    vettingScore: Type.Union([Type.Integer(), Type.Null()]),
    throughputClass: Type.Union([Type.String(), Type.Null()]),
    submittedAt: Type.Union([Type.String(), Type.Null()]),
    reviewedAt: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  }),
]);

/** The checks JSON Schema cannot say, each naming its field; the phone normalised. */
function checked(d: BrandDetails, region: string): BrandDetails {
  const problems = brandProblems(d);
  if (problems.length > 0)
    throw new AppError('VALIDATION_FAILED', problems.map((p) => `${p.field}: ${p.problem}`).join('; '), {
      details: { fields: problems },
    });
  return { ...d, phone: toE164(d.phone, region, 'INVALID_PHONE_NUMBER') };
}

/** /v1/brands: 10DLC brands, submitted to the registry and reviewed there. */
export function registerBrandRoutes(app: App, deps: HttpDeps): void {
  const config = { auth: 'account' as const };
  const registry = () => {
    if (!deps.registry) throw new AppError('NO_REGISTRY');
    return deps.registry;
  };

  app.post(
    '/v1/brands',
    {
      config,
      schema: { summary: 'Create a brand (draft)', body: Details, response: { 201: Brand, ...err } },
    },
    async (req, reply) =>
      reply
        .status(201)
        .send(
          await db(deps.brands.create(req.accountId, checked(req.body as BrandDetails, deps.defaultRegion))),
        ),
  );
  app.get(
    '/v1/brands',
    {
      config,
      schema: {
        summary: "The account's brands, newest first",
        response: { 200: Type.Object({ data: Type.Array(Brand) }), ...err },
      },
    },
    async (req) => ({ data: await db(deps.brands.list(req.accountId, 500)) }),
  );
  app.get(
    '/v1/brands/:id',
    {
      config,
      schema: { summary: 'One brand with its review', params: IdParams, response: { 200: Brand, ...err } },
    },
    async (req) => {
      const b = await db(deps.brands.get(req.accountId, req.params.id));
      if (!b) throw new AppError('BRAND_NOT_FOUND');
      return b;
    },
  );
  app.put(
    '/v1/brands/:id',
    {
      config,
      schema: {
        summary: 'Replace the details of a draft or rejected brand (it becomes a draft again)',
        params: IdParams,
        body: Details,
        response: { 200: Brand, ...err },
      },
    },
    async (req) => {
      const d = checked(req.body as BrandDetails, deps.defaultRegion);
      if (!(await db(deps.brands.update(req.accountId, req.params.id, d)))) {
        if (!(await db(deps.brands.get(req.accountId, req.params.id)))) throw new AppError('BRAND_NOT_FOUND');
        throw new AppError('BRAND_LOCKED');
      }
      return (await db(deps.brands.get(req.accountId, req.params.id)))!;
    },
  );
  app.post(
    '/v1/brands/:id/submit',
    {
      config,
      schema: {
        summary: 'Submit a draft brand to the registry for review (then submitted → approved | rejected)',
        params: IdParams,
        response: { 200: Brand, ...err },
      },
    },
    async (req) => {
      const b = await db(deps.brands.get(req.accountId, req.params.id));
      if (!b) throw new AppError('BRAND_NOT_FOUND');
      if (b.status !== 'draft') throw new AppError('BRAND_LOCKED', `the brand is ${b.status}`);
      const { registryId } = await registry().submitBrand(b);
      if (!(await db(deps.brands.markSubmitted(req.accountId, b.id, registryId))))
        throw new AppError('BRAND_LOCKED', 'the brand was submitted meanwhile');
      return (await db(deps.brands.get(req.accountId, b.id)))!;
    },
  );
}
