/**
 * The policy pipeline: every rule that can stop, delay or change a message is a policy, run in
 * order at accept and again at dispatch. A policy decides on one subject with context it loaded
 * once for the whole batch; deciding is pure. Policies of later issues (opt-out, quiet hours,
 * footer, links, registration, limits) plug in here.
 */
import type { Reason } from './vocabulary.ts';

export type Decision =
  | { kind: 'allow' }
  /** Stop the message: at accept the API answers `code`; at dispatch it ends `status` with `reason`. */
  | {
      kind: 'reject';
      code: string;
      message: string;
      status: 'failed' | 'rejected' | 'expired';
      reason: Reason;
    }
  /** Not before `until`: the message waits in the database, holding no lease and no memory. */
  | { kind: 'defer'; until: Date; reason: Reason }
  /** Go on with another body (a footer, shortened links); later policies see the new body. */
  | { kind: 'transform'; body: string };

export const ALLOW: Decision = Object.freeze({ kind: 'allow' });

/**
 * One rule. `load` fetches what it needs for a batch of subjects (once, before any decision);
 * `decide` must not do I/O.
 */
export interface Policy<S, L = undefined> {
  readonly name: string;
  load?(subjects: readonly S[]): Promise<L>;
  decide(subject: S, loaded: L): Decision;
}

/** What the pipeline made of one subject: the first non-allow decision, and the body after transforms. */
export interface Verdict {
  decision: Exclude<Decision, { kind: 'transform' }>;
  /** Set when a policy transformed the body. */
  body?: string | undefined;
  /** The policy that stopped or deferred it. */
  policy?: string | undefined;
}

type AnyPolicy<S> = Policy<S, unknown>;

/**
 * An ordered list of policies over subjects of type S. A subject with a `body` field gets the
 * transformed body passed on to later policies through `withBody`.
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
   * Decides on a batch: loads every policy's context once (in parallel), then runs the policies in
   * order per subject. Rejects when a policy's `load` fails (the caller retries the batch).
   */
  async run(subjects: readonly S[]): Promise<Verdict[]> {
    if (subjects.length === 0) return [];
    const loaded = await Promise.all(this.policies.map((p) => (p.load ? p.load(subjects) : undefined)));
    return subjects.map((s) => this.decide(s, loaded));
  }

  private decide(subject: S, loaded: unknown[]): Verdict {
    let s = subject;
    let body: string | undefined;
    for (let i = 0; i < this.policies.length; i++) {
      const p = this.policies[i]!;
      const d = p.decide(s, loaded[i]);
      if (d.kind === 'allow') continue;
      if (d.kind === 'transform') {
        body = d.body;
        s = this.withBody(s, d.body);
        continue;
      }
      return { decision: d, body, policy: p.name };
    }
    return { decision: ALLOW as Verdict['decision'], body };
  }
}
