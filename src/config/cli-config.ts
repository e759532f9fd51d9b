import { z } from 'zod';
import { ConfigError } from '../errors/app-error.ts';

const schema = z.object({
  PARLEY_URL: z.string().url().default('http://127.0.0.1:3000'),
  PARLEY_ADMIN_TOKEN: z.string().optional(),
  PARLEY_API_KEY: z.string().optional(),
});

/** The CLI's own configuration (a separate program from the gateway). */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): {
  url: string;
  adminToken: string | undefined;
  apiKey: string | undefined;
} {
  const r = schema.safeParse(env);
  if (!r.success)
    throw new ConfigError(r.error.issues.map((i) => `env.${i.path.join('.')}: ${i.message}`).join('; '));
  return {
    url: r.data.PARLEY_URL.replace(/\/$/, ''),
    adminToken: r.data.PARLEY_ADMIN_TOKEN,
    apiKey: r.data.PARLEY_API_KEY,
  };
}
