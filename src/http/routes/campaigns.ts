import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors/app-error.ts';
import { type CampaignDetails, campaignProblems, USE_CASES } from '../../numbers/campaigns.ts';
import { db } from '../../store/db-errors.ts';
import { ERROR_RESPONSES as err, IdParams, SendBody } from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';

const Text = (min: number, max: number) => Type.String({ minLength: min, maxLength: max });
const Keywords = Type.Array(Type.String({ pattern: '^[A-Za-z0-9]{1,20}$' }), { minItems: 1, maxItems: 20 });

const Details = Type.Object(
  {
    brandId: SendBody.properties.userId,
    useCase: Type.Unsafe<CampaignDetails['useCase']>({ type: 'string', enum: [...USE_CASES] }),
    description: Text(40, 4096),
    sampleMessages: Type.Array(Text(20, 1024), { minItems: 2, maxItems: 5 }),
    messageFlow: Text(40, 4096),
    optInKeywords: Keywords,
    optOutKeywords: Keywords,
    helpKeywords: Keywords,
    optInReply: Text(20, 320),
    optOutReply: Text(20, 320),
    helpReply: Text(20, 320),
    embeddedLinks: Type.Boolean(),
    embeddedPhone: Type.Boolean(),
    ageGated: Type.Boolean(),
  },
  { additionalProperties: false },
);
const Campaign = Type.Intersect([
  Details,
  Type.Object({
    id: Type.String(),
    status: Type.String({ description: 'draft → submitted → approved | rejected → suspended | expired' }),
    registryId: Type.Union([Type.String(), Type.Null()]),
    rejectionReason: Type.Union([Type.String(), Type.Null()]),
    submittedAt: Type.Union([Type.String(), Type.Null()]),
    reviewedAt: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  }),
]);

/** /v1/campaigns: 10DLC campaigns under an approved brand, reviewed by the registry; number assignment. */
export function registerCampaignRoutes(app: App, deps: HttpDeps): void {
  const config = { auth: 'account' as const };
  /** Its brand must be the account's and approved; the cross-field rules hold. */
  const checked = async (accountId: string, c: CampaignDetails): Promise<CampaignDetails> => {
    const brand = await db(deps.brands.get(accountId, c.brandId.toLowerCase()));
    if (!brand) throw new AppError('BRAND_NOT_FOUND');
    if (brand.status !== 'approved') throw new AppError('BRAND_NOT_APPROVED', `the brand is ${brand.status}`);
    const problems = campaignProblems(c, brand.entityType);
    if (problems.length > 0)
      throw new AppError('VALIDATION_FAILED', problems.map((p) => `${p.field}: ${p.problem}`).join('; '), {
        details: { fields: problems },
      });
    return { ...c, brandId: brand.id };
  };

  app.post(
    '/v1/campaigns',
    {
      config,
      schema: {
        summary: 'Create a campaign (draft) under an approved brand',
        body: Details,
        response: { 201: Campaign, ...err },
      },
    },
    async (req, reply) => {
      const c = await checked(req.accountId, req.body as CampaignDetails);
      return reply.status(201).send(await db(deps.campaigns.create(req.accountId, c)));
    },
  );
  app.get(
    '/v1/campaigns',
    {
      config,
      schema: {
        summary: "The account's campaigns, newest first",
        response: { 200: Type.Object({ data: Type.Array(Campaign) }), ...err },
      },
    },
    async (req) => ({ data: await db(deps.campaigns.list(req.accountId, 500)) }),
  );
  app.get(
    '/v1/campaigns/:id',
    {
      config,
      schema: {
        summary: 'One campaign with its review',
        params: IdParams,
        response: { 200: Campaign, ...err },
      },
    },
    async (req) => {
      const c = await db(deps.campaigns.get(req.accountId, req.params.id));
      if (!c) throw new AppError('CAMPAIGN_NOT_FOUND');
      return c;
    },
  );
  app.put(
    '/v1/campaigns/:id',
    {
      config,
      schema: {
        summary: 'Replace a draft or rejected campaign (it becomes a draft again)',
        params: IdParams,
        body: Details,
        response: { 200: Campaign, ...err },
      },
    },
    async (req) => {
      const existing = await db(deps.campaigns.get(req.accountId, req.params.id));
      if (!existing) throw new AppError('CAMPAIGN_NOT_FOUND');
      const c = await checked(req.accountId, req.body as CampaignDetails);
      if (!(await db(deps.campaigns.update(req.accountId, req.params.id, c))))
        throw new AppError('CAMPAIGN_LOCKED');
      return (await db(deps.campaigns.get(req.accountId, req.params.id)))!;
    },
  );
  app.post(
    '/v1/campaigns/:id/submit',
    {
      config,
      schema: {
        summary: 'Submit a draft campaign to the registry',
        params: IdParams,
        response: { 200: Campaign, ...err },
      },
    },
    async (req) => {
      if (!deps.registry) throw new AppError('NO_REGISTRY');
      const c = await db(deps.campaigns.get(req.accountId, req.params.id));
      if (!c) throw new AppError('CAMPAIGN_NOT_FOUND');
      if (c.status !== 'draft') throw new AppError('CAMPAIGN_LOCKED', `the campaign is ${c.status}`);
      const { registryId } = await deps.registry.submitCampaign(c);
      if (!(await db(deps.campaigns.markSubmitted(req.accountId, c.id, registryId))))
        throw new AppError('CAMPAIGN_LOCKED', 'the campaign was submitted meanwhile');
      return (await db(deps.campaigns.get(req.accountId, c.id)))!;
    },
  );
  app.put(
    '/v1/numbers/:id/campaign',
    {
      config,
      schema: {
        summary:
          'Assign the number to an approved campaign of the account (one campaign per number): pending_assignment until the registry answers assigned or failed_assignment (GET /v1/numbers/:id shows it); null unassigns',
        params: IdParams,
        body: Type.Object(
          { campaignId: Type.Union([SendBody.properties.userId, Type.Null()]) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            numberId: Type.String(),
            campaignId: Type.Union([Type.String(), Type.Null()]),
            status: Type.Union([Type.Literal('pending_assignment'), Type.Null()]),
          }),
          ...err,
        },
      },
    },
    async (req) => {
      const id = req.body.campaignId?.toLowerCase() ?? null;
      let registryId: string | null = null;
      if (id) {
        // The registry reviews the assignment too: the number sends once it says assigned.
        const target = await db(deps.campaigns.assignmentTarget(req.accountId, req.params.id, id));
        if (target === 'no_number') throw new AppError('NUMBER_NOT_FOUND');
        if (target === 'not_approved') throw new AppError('CAMPAIGN_NOT_APPROVED');
        if (!deps.registry) throw new AppError('NO_REGISTRY');
        registryId = (await deps.registry.submitAssignment(target.campaignRegistryId, target.e164))
          .registryId;
      }
      if (!(await db(deps.campaigns.assignNumber(req.accountId, req.params.id, id, registryId)))) {
        const [n] = await db(deps.accounts.numberDetails(req.accountId, req.params.id));
        throw n ? new AppError('CAMPAIGN_NOT_APPROVED') : new AppError('NUMBER_NOT_FOUND');
      }
      deps.accept.invalidateNumbers(req.accountId);
      return { numberId: req.params.id, campaignId: id, status: id ? 'pending_assignment' : null };
    },
  );
}
