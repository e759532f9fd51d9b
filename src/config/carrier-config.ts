import { z } from 'zod';
import { THROUGHPUT_CLASSES } from '../limits/policy-table.ts';
import { NUMBER_TYPES } from '../messaging/vocabulary.ts';
import { MESSAGE_ID_FORMATS } from '../smpp/message-id.ts';

const bindSpec = z.object({
  /** `txrx` opens a transmitter and a receiver as a pair; `trx` one transceiver. */
  mode: z.enum(['trx', 'tx', 'rx', 'txrx']).default('trx'),
  count: z.number().int().min(1).max(64).default(1),
});

/** One carrier's SMSC connection settings; validated once at start. */
const positiveRates = <K extends string>(keys: readonly K[]) =>
  z
    .object(
      Object.fromEntries(keys.map((k) => [k, z.number().positive().max(1e7).optional()])) as Record<
        K,
        z.ZodOptional<z.ZodNumber>
      >,
    )
    .strict();

/** Overrides of the rate-limit policy table (src/limits/policy-table.ts), per carrier or operator-wide. */
export const limitOverridesSchema = z
  .object({
    campaignPerMinute: positiveRates(THROUGHPUT_CLASSES).optional(),
    brandPerDay: positiveRates(THROUGHPUT_CLASSES).optional(),
    numberPerSecond: positiveRates(NUMBER_TYPES).optional(),
  })
  .strict();

export const carrierConfigSchema = z.object({
  id: z
    .string()
    .min(1)
    .regex(/^[a-z0-9_-]+$/i, 'use letters, digits, - and _'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  /** `true` for TLS with the system CAs, or options: a CA file (PEM) and whether to verify the SMSC's certificate. */
  tls: z
    .union([
      z.boolean(),
      z.object({
        caFile: z.string().optional(),
        rejectUnauthorized: z.boolean().default(true),
        servername: z.string().optional(),
      }),
    ])
    .default(false),
  systemId: z.string().min(1).max(15),
  password: z.string().max(8),
  systemType: z.string().max(12).default(''),
  interfaceVersion: z.number().int().min(0).max(0xff).default(0x34),
  addrTon: z.number().int().min(0).max(0xff).default(0),
  addrNpi: z.number().int().min(0).max(0xff).default(0),
  addressRange: z.string().max(40).default(''),
  binds: z
    .array(bindSpec)
    .min(1)
    .default([{ mode: 'trx', count: 1 }]),
  windowSize: z.number().int().min(1).max(10_000).default(10),
  responseTimeoutMs: z.number().int().min(100).default(30_000),
  enquireLinkIntervalMs: z.number().int().min(100).default(30_000),
  enquireLinkMaxMissed: z.number().int().min(1).default(2),
  /** An enquire_link unanswered this long is missed (the link is unhealthy meanwhile). */
  enquireLinkTimeoutMs: z.number().int().min(50).default(10_000),
  connectTimeoutMs: z.number().int().min(100).default(10_000),
  bindTimeoutMs: z.number().int().min(100).default(10_000),
  writeHighWaterMark: z
    .number()
    .int()
    .min(1024)
    .default(1 << 20),
  reconnect: z
    .object({
      initialMs: z.number().int().min(1).default(500),
      maxMs: z.number().int().min(1).default(30_000),
      multiplier: z.number().min(1).default(2),
    })
    .default({ initialMs: 500, maxMs: 30_000, multiplier: 2 }),
  /** data_coding for GSM-7 text: 0 (SMSC default) or 1 (IA5), as the carrier wants it. */
  gsmDataCoding: z.union([z.literal(0), z.literal(1)]).default(0),
  allowLatin1: z.boolean().default(false),
  concatRef: z.enum(['8bit', '16bit']).default('8bit'),
  /** `payload`: send long text in message_payload instead of UDH segments. */
  longMessageMode: z.enum(['udh', 'payload']).default('udh'),
  /** Contracted submits per second per bind; Infinity when unset (pace only after throttling). */
  maxSubmitsPerSecond: z.number().positive().optional(),
  /** This carrier's contractual limits where they differ from the policy table's. */
  rateLimits: limitOverridesSchema.optional(),
  throttle: z
    .object({
      minRate: z.number().positive().default(10),
      increasePerSecond: z.number().positive().default(50),
      decreaseFactor: z.number().gt(0).lt(1).default(0.5),
      holdMs: z.number().int().min(0).default(250),
    })
    .default({ minRate: 10, increasePerSecond: 50, decreaseFactor: 0.5, holdMs: 250 }),
  retry: z
    .object({
      maxTemporaryRetries: z.number().int().min(0).default(3),
      maxThrottleRetries: z.number().int().min(0).default(20),
      backoffInitialMs: z.number().int().min(1).default(200),
      backoffMaxMs: z.number().int().min(1).default(10_000),
    })
    .default({ maxTemporaryRetries: 3, maxThrottleRetries: 20, backoffInitialMs: 200, backoffMaxMs: 10_000 }),
  /** A submit waiting this long for a usable bind is handed back as retryable. */
  queueTimeoutMs: z.number().int().min(10).default(60_000),
  /** Consecutive response timeouts after which the session is presumed sick and rebound. */
  maxConsecutiveTimeouts: z.number().int().min(1).default(3),
  /** How long to wait for the rest of a concatenated MO before delivering it incomplete. */
  moReassemblyTimeoutMs: z.number().int().min(100).default(60_000),
  /**
   * How this SMSC renders message ids in submit_sm_resp and in receipts. `auto` matches the same
   * rendering (case and leading zeros aside) and, failing that, hex against decimal; name the
   * formats when the SMSC renders one id differently in the two places (e.g. base36 / decimal), so
   * that every id has exactly one reading and no two ids can be confused.
   */
  messageIdFormat: z
    .object({
      submit: z.enum(MESSAGE_ID_FORMATS).default('auto'),
      receipt: z.enum(MESSAGE_ID_FORMATS).default('auto'),
    })
    .default({ submit: 'auto', receipt: 'auto' }),
  /**
   * Region for addresses this SMSC sends without an international TON (0 unknown, 2 national),
   * e.g. `14155550100`; unset: PARLEY_DEFAULT_REGION.
   */
  defaultRegion: z.string().length(2).optional(),
  /**
   * Inbound PDUs (receipts, MO) read but not yet stored and answered, per session; above it the
   * session stops reading the socket until storage catches up (backpressure to the SMSC).
   */
  maxPendingInbound: z.number().int().min(1).max(100_000).default(1_000),
});

export type CarrierConfig = z.infer<typeof carrierConfigSchema>;
export type CarrierConfigInput = z.input<typeof carrierConfigSchema>;

/** Validates one carrier; throws a ZodError naming the bad field (the config loader wraps it). */
export function parseCarrierConfig(input: unknown): CarrierConfig {
  return carrierConfigSchema.parse(input);
}
