import { Type } from '@sinclair/typebox';
import { db } from '../../store/db-errors.ts';
import { ERROR_RESPONSES as err } from '../schemas.ts';
import type { App, HttpDeps } from '../server.ts';

const WebhookSettings = Type.Object(
  {
    inboundUrl: Type.Union([Type.String({ minLength: 1, maxLength: 2048 }), Type.Null()], {
      description:
        'inbound messages are POSTed here, signed (X-Parley-Signature), retried from the database like status callbacks; null: none',
    }),
  },
  { additionalProperties: false },
);

/** /v1/settings/webhooks: where the account's inbound messages are POSTed. */
export function registerWebhookSettingsRoutes(app: App, deps: HttpDeps): void {
  const config = { auth: 'account' as const };
  app.get(
    '/v1/settings/webhooks',
    {
      config,
      schema: { summary: 'Webhook URLs of the account', response: { 200: WebhookSettings, ...err } },
    },
    async (req) => ({ inboundUrl: (await db(deps.accounts.inboundWebhook(req.accountId))) ?? null }),
  );
  app.put(
    '/v1/settings/webhooks',
    {
      config,
      schema: {
        summary:
          'Set where inbound messages are POSTed (http(s), public addresses unless allowed by the operator)',
        body: WebhookSettings,
        response: { 200: WebhookSettings, ...err },
      },
    },
    async (req) => {
      if (req.body.inboundUrl !== null) deps.checkWebhookUrl(req.body.inboundUrl);
      await db(deps.accounts.setInboundWebhook(req.accountId, req.body.inboundUrl));
      return { inboundUrl: req.body.inboundUrl };
    },
  );
}
