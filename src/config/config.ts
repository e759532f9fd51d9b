import { readFileSync } from 'node:fs';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors/app-error.ts';
import type { LimitOverrides } from '../limits/policy-table.ts';
import { NUMBER_TYPES } from '../messaging/vocabulary.ts';
import { carrierConfigSchema, limitOverridesSchema } from './carrier-config.ts';

const routeSchema = z.object({
  numberTypes: z.array(z.enum(NUMBER_TYPES)).optional(),
  prefixes: z.array(z.string().regex(/^\+\d*$/, 'prefixes are E.164 starts like "+1" or "+4477"')).optional(),
  carriers: z.array(z.string()).min(1),
});

const fileSchema = z.object({
  carriers: z.array(carrierConfigSchema).default([]),
  routes: z.array(routeSchema).default([]),
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
  // Names this instance's leases (`<id>#<claim>`): '#' would let one id's leases look like another's.
  PARLEY_INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits, . _ : - (1 to 100)')
    .optional(),
  PARLEY_LEASE_MS: z.coerce.number().int().min(1000).default(120_000),
  PARLEY_VALIDITY_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(48 * 3600_000),
  PARLEY_MAX_SEGMENTS: z.coerce.number().int().min(1).max(255).default(10),
  PARLEY_RECEIPT_PARK_TTL_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(10 * 60_000),
  PARLEY_REDIS_PREFIX: z.string().default('parley:'),
  PARLEY_WEBHOOK_MAX_AGE_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(24 * 3600_000),
  PARLEY_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(10).default(1000),
  PARLEY_QUIET_HOURS_DEFAULT: z.enum(['on', 'off']).default('on'),
  PARLEY_FOOTER_DEFAULT: z.enum(['on', 'off']).default('on'),
  PARLEY_NUMBER_PROVIDER_URL: z.string().url().optional(),
  PARLEY_REGISTRY_URL: z.string().url().optional(),
  PARLEY_REGISTRATION_GATE: z.enum(['on', 'off']).default('on'),
  PARLEY_RATE_LIMITS: z.enum(['on', 'off']).default('on'),
  PARLEY_RATE_LIMIT_OVERRIDES: z.string().optional(),
  PARLEY_SENDER_QUEUE_CAP_HOURS: z.coerce.number().positive().max(720).default(4),
  PARLEY_LINK_BASE_URL: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//i.test(u) && !/[?#]/.test(u), 'an http(s) URL without query or fragment')
    .optional(),
  PARLEY_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  PARLEY_METRICS_RENDER_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
  PARLEY_REGISTRY_POLL_MS: z.coerce.number().int().min(50).max(3_600_000).default(5_000),
  PARLEY_EVENTS_HEARTBEAT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  PARLEY_EVENTS_MAX_CLIENTS: z.coerce.number().int().min(1).max(100_000).default(2_000),
  PARLEY_EVENTS_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(2_000),
  PARLEY_EVENTS_RETENTION_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(72),
  PARLEY_TIME_ZONE: z
    .string()
    .default('America/New_York')
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'not an IANA time zone'),
  PARLEY_DB_POOL: z.coerce.number().int().min(2).max(100).default(10),
  PARLEY_DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
  PARLEY_DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  PARLEY_HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  PARLEY_HTTP_KEEPALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(72_000),
  PARLEY_HTTP_BODY_LIMIT: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  PARLEY_READY_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(2_000),
  PARLEY_AUTH_CACHE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000, 'revoked keys must stop within 1 s')
    .default(1_000),
  PARLEY_ACCEPT_MAX_PENDING: z.coerce.number().int().min(100).default(20_000),
  PARLEY_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  PARLEY_WEBHOOK_ALLOW_NETWORKS: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const list = s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
      for (const n of list) {
        if (!isCidrOrIp(n)) {
          ctx.addIssue({ code: 'custom', message: `"${n}" is not an IP address or CIDR range` });
          return z.NEVER;
        }
      }
      return list;
    }),
  PARLEY_RECEIPT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(72 * 3600_000),
  PARLEY_UNMATCHED_RETENTION_MS: z.coerce
    .number()
    .int()
    .min(60_000)
    .default(7 * 86_400_000),
});

function isCidrOrIp(s: string): boolean {
  try {
    if (s.includes('/')) ipaddr.parseCIDR(s);
    else ipaddr.parse(s);
    return true;
  } catch {
    return false;
  }
}

export interface AppConfig {
  port: number;
  /** /metrics on its own port, served by a worker from text rendered every renderEveryMs (undefined: only on the API port). */
  metricsListener: { port: number; renderEveryMs: number } | undefined;
  /** Short links are this plus the code; ends with "/". */
  linkBaseUrl: string;
  host: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  dataDir: string;
  adminToken: string | undefined;
  defaultRegion: string;
  logLevel: string;
  carriers: z.infer<typeof carrierConfigSchema>[];
  routes: z.infer<typeof routeSchema>[];
  instanceId: string | undefined;
  leaseMs: number;
  validityMs: number;
  maxSegments: number;
  receiptParkTtlMs: number;
  redisPrefix: string;
  webhookMaxAgeMs: number;
  webhookBackoffMs: number;
  /** Quiet hours for accounts that never set them (US law expects them on). */
  quietHoursDefault: boolean;
  /** The first-message opt-out footer for accounts that never set it. */
  footerDefault: boolean;
  /** An account's zone until it sets one (recipients whose number tells no zone). */
  timeZone: string;
  /** The number provider's API (numbers for sale); the bundled simulator's when it runs. */
  numberProviderUrl: string | undefined;
  /** The 10DLC registry's API (brand review) and how often submitted brands are asked about. */
  registryUrl: string | undefined;
  registryPollMs: number;
  /** Refuse and stop messages from unregistered numbers (10DLC, toll-free); tests turn it off. */
  registrationGate: boolean;
  /**
   * Contractual rate limits at dispatch (number, campaign, brand per day) and the sender queue
   * cap at accept; `overrides` replace policy-table entries for every carrier.
   */
  rateLimits: { enabled: boolean; overrides: LimitOverrides | undefined; senderQueueCapMs: number };
  /** GET /v1/events: heartbeat, connections per instance, the read of a lost notification, log kept. */
  events: { heartbeatMs: number; maxClients: number; pollMs: number; retentionMs: number };
  dbPoolSize: number;
  dbConnectTimeoutMs: number;
  dbStatementTimeoutMs: number;
  httpRequestTimeoutMs: number;
  httpKeepAliveTimeoutMs: number;
  httpBodyLimit: number;
  readyTimeoutMs: number;
  authCacheMs: number;
  acceptMaxPending: number;
  webhookTimeoutMs: number;
  /** Networks callbacks may reach although private or reserved (operator's own receivers). */
  webhookAllowNetworks: string[];
  receiptTimeoutMs: number;
  unmatchedRetentionMs: number;
  /** Set when no carrier is configured: the bundled simulator runs in-process as the carrier. */
  simulator: { port: number; controlPort: number } | undefined;
}

/** PARLEY_RATE_LIMIT_OVERRIDES: JSON of the policy table's shape; throws ConfigError naming the field. */
function parseLimitOverrides(raw: string | undefined): LimitOverrides | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError('PARLEY_RATE_LIMIT_OVERRIDES: not JSON');
  }
  const r = limitOverridesSchema.safeParse(json);
  if (!r.success) throw new ConfigError(describe(r.error, 'PARLEY_RATE_LIMIT_OVERRIDES'));
  return r.data as LimitOverrides;
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
  // An empty variable (`PARLEY_ADMIN_TOKEN=`) means unset, as compose files and shells write it.
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const e = envSchema.safeParse(given);
  if (!e.success) throw new ConfigError(`invalid environment: ${describe(e.error, 'env')}`);
  const v = e.data;
  let carriers: AppConfig['carriers'] = [];
  let routes: AppConfig['routes'] = [];
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
    routes = f.data.routes;
    const ids = new Set<string>();
    for (const c of carriers) {
      if (ids.has(c.id))
        throw new ConfigError(
          `invalid ${path.basename(v.PARLEY_CONFIG)}: config.carriers: duplicate id "${c.id}"`,
        );
      ids.add(c.id);
    }
    for (const [i, r] of routes.entries()) {
      for (const id of r.carriers) {
        if (!ids.has(id))
          throw new ConfigError(
            `invalid ${path.basename(v.PARLEY_CONFIG)}: config.routes.${i}.carriers: unknown carrier "${id}"`,
          );
      }
    }
  }
  const linkBase = v.PARLEY_LINK_BASE_URL ?? `http://localhost:${v.PORT}/l/`;
  return {
    port: v.PORT,
    linkBaseUrl: linkBase.endsWith('/') ? linkBase : `${linkBase}/`,
    metricsListener:
      v.PARLEY_METRICS_PORT === undefined
        ? undefined
        : { port: v.PARLEY_METRICS_PORT, renderEveryMs: v.PARLEY_METRICS_RENDER_MS },
    host: v.HOST,
    databaseUrl: v.DATABASE_URL,
    redisUrl: v.REDIS_URL,
    dataDir: v.PARLEY_DATA_DIR,
    adminToken: v.PARLEY_ADMIN_TOKEN,
    defaultRegion: v.PARLEY_DEFAULT_REGION,
    logLevel: v.LOG_LEVEL,
    carriers,
    routes,
    instanceId: v.PARLEY_INSTANCE_ID,
    leaseMs: v.PARLEY_LEASE_MS,
    validityMs: v.PARLEY_VALIDITY_MS,
    maxSegments: v.PARLEY_MAX_SEGMENTS,
    receiptParkTtlMs: v.PARLEY_RECEIPT_PARK_TTL_MS,
    redisPrefix: v.PARLEY_REDIS_PREFIX,
    webhookMaxAgeMs: v.PARLEY_WEBHOOK_MAX_AGE_MS,
    webhookBackoffMs: v.PARLEY_WEBHOOK_BACKOFF_MS,
    quietHoursDefault: v.PARLEY_QUIET_HOURS_DEFAULT === 'on',
    footerDefault: v.PARLEY_FOOTER_DEFAULT === 'on',
    timeZone: v.PARLEY_TIME_ZONE,
    numberProviderUrl: v.PARLEY_NUMBER_PROVIDER_URL,
    registryUrl: v.PARLEY_REGISTRY_URL,
    registryPollMs: v.PARLEY_REGISTRY_POLL_MS,
    registrationGate: v.PARLEY_REGISTRATION_GATE === 'on',
    rateLimits: {
      enabled: v.PARLEY_RATE_LIMITS === 'on',
      overrides: parseLimitOverrides(v.PARLEY_RATE_LIMIT_OVERRIDES),
      senderQueueCapMs: v.PARLEY_SENDER_QUEUE_CAP_HOURS * 3600_000,
    },
    events: {
      heartbeatMs: v.PARLEY_EVENTS_HEARTBEAT_MS,
      maxClients: v.PARLEY_EVENTS_MAX_CLIENTS,
      pollMs: v.PARLEY_EVENTS_POLL_MS,
      retentionMs: v.PARLEY_EVENTS_RETENTION_HOURS * 3600_000,
    },
    dbPoolSize: v.PARLEY_DB_POOL,
    dbConnectTimeoutMs: v.PARLEY_DB_CONNECT_TIMEOUT_MS,
    dbStatementTimeoutMs: v.PARLEY_DB_STATEMENT_TIMEOUT_MS,
    httpRequestTimeoutMs: v.PARLEY_HTTP_REQUEST_TIMEOUT_MS,
    httpKeepAliveTimeoutMs: v.PARLEY_HTTP_KEEPALIVE_TIMEOUT_MS,
    httpBodyLimit: v.PARLEY_HTTP_BODY_LIMIT,
    readyTimeoutMs: v.PARLEY_READY_TIMEOUT_MS,
    authCacheMs: v.PARLEY_AUTH_CACHE_MS,
    acceptMaxPending: v.PARLEY_ACCEPT_MAX_PENDING,
    webhookTimeoutMs: v.PARLEY_WEBHOOK_TIMEOUT_MS,
    webhookAllowNetworks: v.PARLEY_WEBHOOK_ALLOW_NETWORKS,
    receiptTimeoutMs: v.PARLEY_RECEIPT_TIMEOUT_MS,
    unmatchedRetentionMs: v.PARLEY_UNMATCHED_RETENTION_MS,
    simulator:
      carriers.length === 0
        ? { port: v.PARLEY_SIMULATOR_PORT, controlPort: v.PARLEY_SIMULATOR_CONTROL_PORT }
        : undefined,
  };
}
