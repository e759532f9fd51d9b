import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.ts';
import { USE_CASES } from '../../numbers/campaigns.ts';
import { toE164 } from '../../numbers/phone.ts';
import {
  MONTHLY_VOLUMES,
  OPT_IN_TYPES,
  type TollFreeDetails,
  tollFreeProblems,
} from '../../numbers/toll-free.ts';
import { db } from '../../store/db-errors.ts';
import { ERROR_RESPONSES as err, IdParams } from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';

const Text = (min: number, max: number) => Type.String({ minLength: min, maxLength: max });
const Details = Type.Object(
  {
    businessName: Text(1, 255),
    businessAddress: Type.Object(
      {
        street: Text(1, 200),
        city: Text(1, 100),
        state: Type.String({ pattern: '^[A-Z]{2}$' }),
        postalCode: Text(3, 10),
        country: Type.String({ pattern: '^[A-Z]{2}$' }),
      },
      { additionalProperties: false },
    ),
    businessWebsite: Text(1, 255),
    contact: Type.Object(
      {
        name: Text(1, 200),
        email: Type.String({ minLength: 3, maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$' }),
        phone: Text(1, 32),
      },
      { additionalProperties: false },
    ),
    useCase: Type.Unsafe<string>({ type: 'string', enum: [...USE_CASES] }),
    useCaseDescription: Text(40, 4096),
    estimatedMonthlyVolume: Type.Unsafe<TollFreeDetails['estimatedMonthlyVolume']>({
      type: 'integer',
      enum: [...MONTHLY_VOLUMES],
    }),
    sampleMessages: Type.Array(Text(20, 1024), { minItems: 1, maxItems: 5 }),
    optInType: Type.Unsafe<TollFreeDetails['optInType']>({ type: 'string', enum: [...OPT_IN_TYPES] }),
    optInEvidenceUrl: Text(1, 2048),
  },
  { additionalProperties: false },
);
const Verification = Type.Intersect([
  Details,
  Type.Object({
    numberId: Type.String(),
    status: Type.String({ description: 'pending → in_review → verified | rejected' }),
    registryId: Type.Union([Type.String(), Type.Null()]),
    rejectionReason: Type.Union([Type.String(), Type.Null()]),
    submittedAt: Type.Union([Type.String(), Type.Null()]),
    reviewedAt: Type.Union([Type.String(), Type.Null()]),
  }),
]);

/** /v1/numbers/:id/toll-free-verification: verify a toll-free number before it may send. */
export function registerTollFreeRoutes(app: App, deps: HttpDeps): void {
  const config = { auth: 'account' as const };
  const path = '/v1/numbers/:id/toll-free-verification';
  app.put(
    path,
    {
      config,
      schema: {
        summary:
          'Request (or, after a rejection, request again) verification of a toll-free number; it is submitted at once',
        params: IdParams,
        body: Details,
        response: { 200: Verification, ...err },
      },
    },
    async (req) => {
      if (!deps.registry) throw new AppError('NO_REGISTRY');
      const raw = req.body as TollFreeDetails;
      const problems = tollFreeProblems(raw);
      if (problems.length > 0)
        throw new AppError('VALIDATION_FAILED', problems.map((p) => `${p.field}: ${p.problem}`).join('; '), {
          details: { fields: problems },
        });
      const d = {
        ...raw,
        contact: {
          ...raw.contact,
          phone: toE164(raw.contact.phone, deps.defaultRegion, 'INVALID_PHONE_NUMBER'),
        },
      };
      const r = await db(deps.tollFree.request(req.accountId, req.params.id, d));
      if (r === 'not_toll_free') throw new AppError('NOT_TOLL_FREE');
      if (r === 'locked') throw new AppError('VERIFICATION_LOCKED');
      // Submitted after it is stored: a registry that does not answer leaves it pending (PUT again).
      const { registryId } = await deps.registry.submitTollFree(d);
      await db(deps.tollFree.markSubmitted(req.accountId, req.params.id, registryId));
      return (await db(deps.tollFree.get(req.accountId, req.params.id)))!;
    },
  );
  app.get(
    path,
    {
      config,
      schema: {
        summary: "A toll-free number's verification",
        params: IdParams,
        response: { 200: Verification, ...err },
      },
    },
    async (req) => {
      const v = await db(deps.tollFree.get(req.accountId, req.params.id));
      if (!v) throw new AppError('NOT_FOUND', 'no verification for this number');
      return v;
    },
  );
}
