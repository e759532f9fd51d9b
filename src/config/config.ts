import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors/app-error.ts';
import { carrierConfigSchema } from './carrier-config.ts';

const fileSchema = z.object({
  carriers: z.array(carrierConfigSchema).default([]),
});

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: z.string().url().optional(),
  REDIS_URL: z.string().url().optional(),
  PARLEY_DATA_DIR: z.string().default('./data'),
  PARLEY_CONFIG: z.string().optional(),
  PARLEY_ADMIN_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
  PARLEY_DEFAULT_REGION: z.string().length(2).default('US'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PARLEY_SIMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(2775),
  PARLEY_SIMULATOR_CONTROL_PORT: z.coerce.number().int().min(0).max(65535).default(8775),
});

export interface AppConfig {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  dataDir: string;
  adminToken: string | undefined;
  defaultRegion: string;
  logLevel: string;
  carriers: z.infer<typeof carrierConfigSchema>[];
  /** Set when no carrier is configured: the bundled simulator runs in-process as the carrier. */
  simulator: { port: number; controlPort: number } | undefined;
}

function describe(err: z.ZodError, where: string): string {
  return err.issues
    .map((i) => `${where}${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`)
    .join('; ');
}

/**
 * Builds the one typed configuration object from the environment and the optional carrier file
 * (`PARLEY_CONFIG`, JSON or YAML). Throws ConfigError naming every bad field; main() prints it
 * and exits non-zero. Nothing else in the code reads process.env.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const e = envSchema.safeParse(env);
  if (!e.success) throw new ConfigError(`invalid environment: ${describe(e.error, 'env')}`);
  const v = e.data;
  let carriers: AppConfig['carriers'] = [];
  if (v.PARLEY_CONFIG) {
    let raw: unknown;
    try {
      const text = readFileSync(v.PARLEY_CONFIG, 'utf8');
      raw = /\.ya?ml$/i.test(v.PARLEY_CONFIG) ? parseYaml(text) : JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`cannot read PARLEY_CONFIG ${v.PARLEY_CONFIG}: ${(err as Error).message}`);
    }
    const f = fileSchema.safeParse(raw ?? {});
    if (!f.success)
      throw new ConfigError(`invalid ${path.basename(v.PARLEY_CONFIG)}: ${describe(f.error, 'config')}`);
    carriers = f.data.carriers;
    const ids = new Set<string>();
    for (const c of carriers) {
      if (ids.has(c.id))
        throw new ConfigError(
          `invalid ${path.basename(v.PARLEY_CONFIG)}: config.carriers: duplicate id "${c.id}"`,
        );
      ids.add(c.id);
    }
  }
  return {
    port: v.PORT,
    host: v.HOST,
    databaseUrl: v.DATABASE_URL,
    redisUrl: v.REDIS_URL,
    dataDir: v.PARLEY_DATA_DIR,
    adminToken: v.PARLEY_ADMIN_TOKEN,
    defaultRegion: v.PARLEY_DEFAULT_REGION,
    logLevel: v.LOG_LEVEL,
    carriers,
    simulator:
      carriers.length === 0
        ? { port: v.PARLEY_SIMULATOR_PORT, controlPort: v.PARLEY_SIMULATOR_CONTROL_PORT }
        : undefined,
  };
}
