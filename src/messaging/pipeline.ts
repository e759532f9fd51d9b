/**
 * The policy pipeline: every rule that can stop, delay or change a message is a policy, run in
 * order at accept and again at dispatch. A policy decides on one subject with context it loaded
 * once for the whole batch; deciding is pure. Policies of later issues (opt-out, quiet hours,
 * footer, links, registration, limits) plug in here.
 */
import type { TrackedLink } from './links.ts';
import type { Reason } from './vocabulary.ts';

/**
 * What the policy that gave a send slot needs to hear back when the slot was written late (opaque
 * to the core; see the `slot.written` event).
 */
export type SlotTicket = Readonly<Record<string, unknown>>;

export type Decision =
  /**
   * Go on; with `at`, not before that time and not after `by` (epoch ms): a paced send slot the
   * dispatcher keeps (a write after `by` is withdrawn and the segment asks again; one after `at`
   * is reported with `ticket`).
   */
  | { kind: 'allow'; at?: number; by?: number; ticket?: SlotTicket }
  /** Stop the message: at accept the API answers `code`; at dispatch it ends `status` with `reason`. */
  | {
      kind: 'reject';
      code: string;
      message: string;
      status: 'failed' | 'rejected' | 'expired';
      reason: Reason;
      /** At accept: when asking again may succeed (the API answers Retry-After). */
      retryAfterMs?: number | undefined;
    }
  /** Not before `until`: the message waits in the database, holding no lease and no memory. */
  | { kind: 'defer'; until: Date; reason: Reason }
  /**
   * Go on with another body (a footer, shortened links); later policies see the new body.
   * `warnings` reach the caller with the accepted message.
   */
  | {
      kind: 'transform';
      body: string;
      warnings?: readonly string[] | undefined;
      /** Short links the new body carries (stored with the message). */
      links?: readonly TrackedLink[] | undefined;
    };

export const ALLOW: Decision = Object.freeze({ kind: 'allow' });

/**
 * One rule. `load` fetches what it needs for a batch of subjects (once, before any decision);
 * `decide` must not do I/O. A `late` policy loads after the policies before it decided, for the
 * subjects still going (with their transformed bodies): for a load that claims something (the
 * first-message footer) and must not claim it for a message an earlier rule refuses.
 */
export interface Policy<S, L = undefined> {
  readonly name: string;
  readonly late?: boolean;
  load?(subjects: readonly S[]): Promise<L>;
  decide(subject: S, loaded: L): Decision;
}

/**
 * What the pipeline made of one subject: a reject (the first one), else the latest defer, else
 * allow; and the body after transforms.
 */
export interface Verdict {
  decision: Exclude<Decision, { kind: 'transform' }>;
  /** Set when a policy transformed the body. */
  body?: string | undefined;
  /** The policy that stopped or deferred it. */
  policy?: string | undefined;
  /** Said by transforming policies (e.g. business_name_missing). */
  warnings?: string[] | undefined;
  /** Short links made by a transforming policy. */
  links?: TrackedLink[] | undefined;
}

type AnyPolicy<S> = Policy<S, unknown>;

interface State<S> {
  s: S;
  body: string | undefined;
  warnings: string[] | undefined;
  links: TrackedLink[] | undefined;
  defer: Extract<Decision, { kind: 'defer' }> | undefined;
  deferredBy: string | undefined;
  /** A paced allow (a send slot); a defer or reject of any policy wins over it. */
  slot: Extract<Decision, { kind: 'allow' }> | undefined;
  done: Verdict | undefined;
}

/**
 * An ordered list of policies over subjects of type S. A subject with a `body` field gets the
 * transformed body passed on to later policies through `withBody`. A reject ends a subject's run;
 * a defer does not (later rules may still refuse or change it; the latest `until` wins).
 */
export class Pipeline<S> {
  private readonly policies: AnyPolicy<S>[];

  constructor(
    policies: ReadonlyArray<Policy<S, never> | Policy<S, unknown>>,
    private readonly withBody: (s: S, body: string) => S = (s) => s,
  ) {
    this.policies = policies as AnyPolicy<S>[];
  }

  get names(): string[] {
    return this.policies.map((p) => p.name);
  }

  /** Adds a policy at the end (or before the one named `before`). */
  use<L>(policy: Policy<S, L>, before?: string): void {
    const i = before === undefined ? -1 : this.policies.findIndex((p) => p.name === before);
    if (i < 0) this.policies.push(policy as AnyPolicy<S>);
    else this.policies.splice(i, 0, policy as AnyPolicy<S>);
  }

  /**
   * Decides on a batch: loads every policy's context once (in parallel; late ones when their turn
   * comes), then runs the policies in order. Rejects when a policy's `load` fails (the caller
   * retries the batch).
   */
  async run(subjects: readonly S[]): Promise<Verdict[]> {
    if (subjects.length === 0) return [];
    const eager = await Promise.all(
      this.policies.map((p) => (p.load && !p.late ? p.load(subjects) : undefined)),
    );
    const states: State<S>[] = subjects.map((s) => ({
      s,
      body: undefined,
      warnings: undefined,
      links: undefined,
      defer: undefined,
      deferredBy: undefined,
      slot: undefined,
      done: undefined,
    }));
    for (let i = 0; i < this.policies.length; i++) {
      const p = this.policies[i]!;
      const going = states.filter((x) => x.done === undefined);
      if (going.length === 0) break;
      const loaded = p.late && p.load ? await p.load(going.map((x) => x.s)) : eager[i];
      for (const x of going) this.apply(p, x, loaded);
    }
    return states.map(
      (x) =>
        x.done ?? {
          decision: x.defer ?? x.slot ?? (ALLOW as Verdict['decision']),
          body: x.body,
          policy: x.deferredBy,
          ...(x.warnings ? { warnings: x.warnings } : {}),
          ...(x.links ? { links: x.links } : {}),
        },
    );
  }

  private apply(p: AnyPolicy<S>, x: State<S>, loaded: unknown): void {
    const d = p.decide(x.s, loaded);
    if (d.kind === 'allow') {
      if (d.at !== undefined) x.slot = d;
      return;
    }
    if (d.kind === 'transform') {
      x.body = d.body;
      x.s = this.withBody(x.s, d.body);
      if (d.warnings?.length) x.warnings = [...(x.warnings ?? []), ...d.warnings];
      if (d.links?.length) x.links = [...(x.links ?? []), ...d.links];
      return;
    }
    if (d.kind === 'defer') {
      if (!x.defer || d.until.getTime() > x.defer.until.getTime()) {
        x.defer = d;
        x.deferredBy = p.name;
      }
      return;
    }
    x.done = { decision: d, body: x.body, policy: p.name };
  }
}
