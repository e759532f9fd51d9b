import type { App, HttpDeps, Readiness } from '../server.ts';

/** Resolves with `fallback` when `p` has not settled within `ms` (a hung dependency must not hang the probe). */
function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise<T>((resolve) => {
    const t = setTimeout(() => resolve(fallback), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      () => {
        clearTimeout(t);
        resolve(fallback);
      },
    );
  });
}

/**
 * /health/live (the process answers), /health/ready (database, Redis when configured, and per
 * carrier how many binds are bound and answering: ready while the database answers and some
 * carrier has a healthy transmitter), /metrics (Prometheus). All public.
 */
export function registerHealthRoutes(app: App, deps: HttpDeps): void {
  const pub = { auth: 'public' as const };
  app.get('/health/live', { config: pub, schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/health/ready', { config: pub, schema: { hide: true } }, async (_req, reply) => {
    const fallback: Readiness = { database: false, carriers: {} };
    const checks = await within(deps.readiness(), deps.readyTimeoutMs, fallback);
    const carriers = Object.values(checks.carriers);
    const ok = checks.database && checks.redis !== false && carriers.some((c) => c.healthy > 0);
    const degraded = carriers.some((c) => c.healthy === 0);
    return reply.status(ok ? 200 : 503).send({ ok, degraded, checks });
  });
  app.get('/metrics', { config: pub, schema: { hide: true } }, async (_req, reply) => {
    deps.collect();
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
