/**
 * Simulator behaviour: how it answers, what receipts it sends, which faults it injects.
 * A scenario is plain JSON; named ones below cover each fault the gateway must survive.
 */

export type ReceiptStat =
  | 'DELIVRD'
  | 'UNDELIV'
  | 'EXPIRED'
  | 'REJECTD'
  | 'DELETED'
  | 'ACCEPTD'
  | 'UNKNOWN'
  | 'ENROUTE';

export interface Scenario {
  name: string;
  /** How submit_sm_resp message ids look. */
  idFormat: 'hex' | 'decimal' | 'alnum' | 'base36';
  receipts: {
    /** Delay before a receipt: uniform in [minMs, maxMs]. */
    minMs: number;
    maxMs: number;
    /** Weights of outcomes; normalised. */
    outcomes: Partial<Record<ReceiptStat, number>>;
    /** err: code per outcome (3 digits in text, network_error_code TLV). */
    errorCodes: Partial<Record<ReceiptStat, number>>;
    format: 'text+tlv' | 'text' | 'tlv';
    /** How the receipt renders the id it got in submit_sm_resp. */
    idRendering: 'same' | 'decimal' | 'leading-zeros' | 'uppercase' | 'lowercase';
    /** Probability that a receipt is sent twice. */
    duplicateProbability: number;
    /** Probability that the receipt is written before the submit_sm_resp. */
    beforeResponseProbability: number;
    /** Probability that no receipt is ever sent (the gateway's receipt timeout must end it). */
    missingProbability: number;
  };
  faults: {
    /** submit_sm per second per bind above which the answer is ESME_RTHROTTLED (0x58); 0 = no limit. */
    throughputLimit: number;
    /** Probability that a submit starts a burst of `queueFullBurstLength` ESME_RMSGQFUL (0x14) answers. */
    queueFullProbability: number;
    queueFullBurstLength: number;
    /** Answers delayed by a uniform delay in [responseDelayMinMs, responseDelayMaxMs]. */
    responseDelayMinMs: number;
    responseDelayMaxMs: number;
    /** Probability that a submit gets no answer at all. */
    missingResponseProbability: number;
    /** Probability that a submit is answered with generic_nack. */
    genericNackProbability: number;
    /** Probability that a submit is answered with a permanent error (ESME_RINVDSTADR). */
    rejectProbability: number;
    /** Probability, per submit, that the connection is dropped with the window full of unanswered requests. */
    dropConnectionProbability: number;
    /** Drop the connection after this many submits on it (0 = never). */
    dropAfterSubmits: number;
    /** Do not answer enquire_link. */
    ignoreEnquireLink: boolean;
    /** Probability that a receipt is preceded by a deliver_sm whose TLV runs past its end (intact framing). */
    malformedDeliverProbability: number;
    /** Answer each tick's responses in reverse order. */
    outOfOrderResponses: boolean;
  };
}

export const DEFAULT_SCENARIO: Scenario = {
  name: 'default',
  idFormat: 'hex',
  receipts: {
    minMs: 0,
    maxMs: 0,
    outcomes: { DELIVRD: 1 },
    errorCodes: { UNDELIV: 1, EXPIRED: 27, REJECTD: 11 },
    format: 'text+tlv',
    idRendering: 'same',
    duplicateProbability: 0,
    beforeResponseProbability: 0,
    missingProbability: 0,
  },
  faults: {
    throughputLimit: 0,
    queueFullProbability: 0,
    queueFullBurstLength: 5,
    responseDelayMinMs: 0,
    responseDelayMaxMs: 0,
    missingResponseProbability: 0,
    genericNackProbability: 0,
    rejectProbability: 0,
    dropConnectionProbability: 0,
    dropAfterSubmits: 0,
    ignoreEnquireLink: false,
    outOfOrderResponses: false,
    malformedDeliverProbability: 0,
  },
};

type Patch = {
  name?: string;
  idFormat?: Scenario['idFormat'];
  receipts?: Partial<Scenario['receipts']>;
  faults?: Partial<Scenario['faults']>;
};

const NAMED: Record<string, Patch> = {
  default: {},
  'mixed-outcomes': {
    receipts: {
      minMs: 5,
      maxMs: 50,
      outcomes: { DELIVRD: 0.85, UNDELIV: 0.07, EXPIRED: 0.04, REJECTD: 0.04 },
    },
  },
  'slow-receipts': { receipts: { minMs: 200, maxMs: 2_000 } },
  throttle: { faults: { throughputLimit: 200 } },
  /** A carrier enforcing a campaign's limit: throttles past 50/s per bind, and fails some with AT&T's 541. */
  'over-limit': {
    receipts: { outcomes: { DELIVRD: 0.5, UNDELIV: 0.5 }, errorCodes: { UNDELIV: 541 } },
    faults: { throughputLimit: 50 },
  },
  'queue-full': { faults: { queueFullProbability: 0.005, queueFullBurstLength: 5 } },
  'slow-responses': { faults: { responseDelayMinMs: 50, responseDelayMaxMs: 400 } },
  'missing-responses': { faults: { missingResponseProbability: 0.05 } },
  'generic-nack': { faults: { genericNackProbability: 0.05 } },
  reject: { faults: { rejectProbability: 0.1 } },
  'drop-connection': { faults: { dropConnectionProbability: 0.005 } },
  'dead-enquire-link': { faults: { ignoreEnquireLink: true } },
  'receipt-before-response': { receipts: { beforeResponseProbability: 1 } },
  'duplicate-receipts': { receipts: { duplicateProbability: 0.5 } },
  'out-of-order': { faults: { outOfOrderResponses: true } },
  'decimal-receipt-ids': { receipts: { idRendering: 'decimal' } },
  'leading-zero-receipt-ids': { receipts: { idRendering: 'leading-zeros' } },
  'decimal-ids': { idFormat: 'decimal' },
  'alnum-ids': { idFormat: 'alnum' },
  // base 36 in submit_sm_resp, the same number in decimal in the receipt
  'base36-ids': { idFormat: 'base36', receipts: { idRendering: 'decimal' } },
  'malformed-deliver': { faults: { malformedDeliverProbability: 0.05 } },
  'no-receipts': { receipts: { missingProbability: 1 } },
  'text-only-receipts': { receipts: { format: 'text' } },
  'tlv-only-receipts': { receipts: { format: 'tlv' } },
};

export const SCENARIO_NAMES = Object.keys(NAMED);

const STATS: ReadonlySet<string> = new Set([
  'DELIVRD',
  'UNDELIV',
  'EXPIRED',
  'REJECTD',
  'DELETED',
  'ACCEPTD',
  'UNKNOWN',
  'ENROUTE',
]);

function fail(path: string, msg: string): never {
  throw new Error(`scenario.${path}: ${msg}`);
}

function checkProb(path: string, v: unknown): void {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(path, 'must be a number from 0 to 1');
}

function checkNonNeg(path: string, v: unknown): void {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) fail(path, 'must be a non-negative number');
}

/** Validates a full scenario; throws an Error naming the bad field. */
export function validateScenario(s: Scenario): Scenario {
  if (!['hex', 'decimal', 'alnum', 'base36'].includes(s.idFormat))
    fail('idFormat', 'must be hex, decimal, alnum or base36');
  const r = s.receipts;
  checkNonNeg('receipts.minMs', r.minMs);
  checkNonNeg('receipts.maxMs', r.maxMs);
  if (r.maxMs < r.minMs) fail('receipts.maxMs', 'must be >= minMs');
  const weights = Object.entries(r.outcomes);
  if (weights.length === 0) fail('receipts.outcomes', 'needs at least one outcome');
  for (const [k, w] of weights) {
    if (!STATS.has(k)) fail(`receipts.outcomes.${k}`, 'unknown stat');
    checkNonNeg(`receipts.outcomes.${k}`, w);
  }
  if (!weights.some(([, w]) => (w ?? 0) > 0)) fail('receipts.outcomes', 'weights must not all be 0');
  if (!['text+tlv', 'text', 'tlv'].includes(r.format))
    fail('receipts.format', 'must be text+tlv, text or tlv');
  if (!['same', 'decimal', 'leading-zeros', 'uppercase', 'lowercase'].includes(r.idRendering))
    fail('receipts.idRendering', 'must be same, decimal, leading-zeros, uppercase or lowercase');
  checkProb('receipts.duplicateProbability', r.duplicateProbability);
  checkProb('receipts.beforeResponseProbability', r.beforeResponseProbability);
  checkProb('receipts.missingProbability', r.missingProbability);
  const f = s.faults;
  for (const k of [
    'queueFullProbability',
    'missingResponseProbability',
    'genericNackProbability',
    'rejectProbability',
    'dropConnectionProbability',
    'malformedDeliverProbability',
  ] as const)
    checkProb(`faults.${k}`, f[k]);
  for (const k of [
    'throughputLimit',
    'queueFullBurstLength',
    'responseDelayMinMs',
    'responseDelayMaxMs',
    'dropAfterSubmits',
  ] as const)
    checkNonNeg(`faults.${k}`, f[k]);
  if (f.responseDelayMaxMs < f.responseDelayMinMs)
    fail('faults.responseDelayMaxMs', 'must be >= responseDelayMinMs');
  return s;
}

/** Applies a patch (a named scenario's or a user's) over a base scenario and validates the result. */
export function applyScenario(base: Scenario, patch: Patch): Scenario {
  if (patch === null || typeof patch !== 'object') fail('', 'must be an object');
  return validateScenario({
    name: patch.name ?? base.name,
    idFormat: patch.idFormat ?? base.idFormat,
    receipts: { ...base.receipts, ...(patch.receipts ?? {}) },
    faults: { ...base.faults, ...(patch.faults ?? {}) },
  });
}

/** A named scenario, or throws listing the names. */
export function namedScenario(name: string): Scenario {
  const p = NAMED[name];
  if (!p) throw new Error(`unknown scenario "${name}"; known: ${SCENARIO_NAMES.join(', ')}`);
  return applyScenario(DEFAULT_SCENARIO, { ...p, name });
}

/** A scenario from JSON: `{"extends": "throttle", ...patch}` or a bare patch over the default. */
export function scenarioFromJson(json: unknown): Scenario {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('', 'must be a JSON object');
  const { extends: ext, ...patch } = json as Patch & { extends?: string };
  const base = ext ? namedScenario(ext) : DEFAULT_SCENARIO;
  return applyScenario(base, { name: patch.name ?? ext ?? 'custom', ...patch });
}
