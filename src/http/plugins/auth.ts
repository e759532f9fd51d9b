import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../errors/app-error.ts';
import type { EventBus } from '../../messaging/events.ts';
import { TtlBatchCache } from '../../messaging/ttl-cache.ts';
import { dbErrorToAppError } from '../../store/db-errors.ts';
import type { App } from '../server.ts';

/** Who may call a route: anyone, an account (API key), or the operator (admin token). */
export type RouteAuth = 'public' | 'account' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Required on every route: the API refuses to start with a route that does not say. */
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    accountId: string;
  }
}

export interface AuthDeps {
  adminToken: string | undefined;
  /** The account of a live key (by SHA-256 hash), undefined for unknown or revoked keys. */
  accountIdForKeyHash(keyHash: string): Promise<string | undefined>;
  /** How long a verified key is trusted without asking the database (≤ 1 s: revocation delay). */
  cacheMs: number;
  bus: EventBus;
}

// One-shot: no Hash object per request (every API call hashes its key).
const sha256 = (s: string) => hash('sha256', s, 'buffer');

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer[ \t]+(\S{1,512})[ \t]*$/i.exec(h);
  return m?.[1];
}

/**
 * Authentication decided per route, deny by default. Every route declares `config.auth`; the
 * check runs on the route the router matched (the decoded path), so no spelling of a path can
 * reach a route without its check. A route without a declaration stops the API from starting.
 * Verified keys are cached at most `cacheMs` (≤ 1 s) and dropped at once on every instance when
 * revoked (`apikey.revoked` on the bus).
 */
export function registerAuth(app: App, deps: AuthDeps): void {
  app.decorateRequest('accountId', '');
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) {
      route.config = { ...(route.config ?? {}), auth: 'public' } as typeof route.config;
      return;
    }
    const auth = (route.config as { auth?: RouteAuth } | undefined)?.auth;
    if (auth !== 'public' && auth !== 'account' && auth !== 'admin')
      throw new Error(`route ${String(route.method)} ${route.url} does not declare config.auth`);
  });

  // One look-up per key at a time, shared by the requests that arrive meanwhile (not one pool
  // connection each whenever the entry expires); a revocation during a look-up keeps it uncached.
  const keys = new TtlBatchCache<string>(async (hashes) => {
    const found = new Map<string, string>();
    for (const h of hashes) {
      const accountId = await deps.accountIdForKeyHash(h);
      if (accountId) found.set(h, accountId);
    }
    return found;
  }, deps.cacheMs);
  deps.bus.subscribe('apikey.revoked', (evs) => {
    for (const e of evs) keys.invalidate(e.keyHash);
  });
  const adminHash = deps.adminToken === undefined ? undefined : sha256(deps.adminToken);

  const account = async (req: FastifyRequest) => {
    const key = bearer(req);
    if (!key) throw new AppError('UNAUTHORIZED');
    const keyHash = sha256(key).toString('hex');
    let accountId: string | undefined;
    try {
      accountId = (await keys.get([keyHash])).get(keyHash);
    } catch (err) {
      throw dbErrorToAppError(err);
    }
    if (!accountId) throw new AppError('UNAUTHORIZED', 'unknown or revoked API key');
    req.accountId = accountId;
  };

  const admin = async (req: FastifyRequest) => {
    if (!adminHash) throw new AppError('ADMIN_DISABLED');
    const token = bearer(req);
    // Compare digests: equal length whatever was sent, so timing says nothing about the token.
    if (!token || !timingSafeEqual(sha256(token), adminHash))
      throw new AppError('UNAUTHORIZED', 'the admin API needs "Authorization: Bearer <PARLEY_ADMIN_TOKEN>"');
  };

  app.addHook('onRequest', async (req) => {
    const auth = req.routeOptions.config?.auth;
    if (auth === 'public') return;
    if (auth === 'account') return account(req);
    if (auth === 'admin') return admin(req);
    // No route matched (the not-found handler answers) — or a route without a declaration,
    // which onRoute refuses: nothing to authenticate, nothing granted.
    if (req.routeOptions.url !== undefined) throw new AppError('UNAUTHORIZED');
  });
}
