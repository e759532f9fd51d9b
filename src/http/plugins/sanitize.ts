import { AppError } from '../../errors/app-error.ts';
import type { App } from '../server.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Body field whose array items the route checks itself, one by one. */
    sanitizeItems?: string;
  }
}

/** Deepest JSON nesting the API reads (metadata has its own, lower limit). */
export const MAX_JSON_DEPTH = 16;
const MAX_NODES = 200_000;

/** True when `s` could not be stored as PostgreSQL text: a NUL, or a lone surrogate (not Unicode). */
export function isUnstorableText(s: string): boolean {
  return s.includes('\u0000') || !s.isWellFormed();
}

/**
 * Finds the first string (value or key) in `value` that holds a NUL or a lone surrogate, walking
 * iteratively (no recursion a hostile depth could overflow). Returns its path, or undefined.
 * Throws TOO_DEEPLY_NESTED beyond `maxDepth` or when too large to walk.
 */
export function findUnstorableText(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const stack: Array<{ v: unknown; path: string; depth: number }> = [{ v: value, path: '', depth: 0 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (++nodes > MAX_NODES) throw new AppError('TOO_DEEPLY_NESTED', 'the JSON has too many values');
    if (typeof v === 'string') {
      if (isUnstorableText(v)) return path || '(value)';
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth)
      throw new AppError(
        'TOO_DEEPLY_NESTED',
        `JSON is nested more than ${maxDepth} levels deep at ${path || '(root)'}`,
      );
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ v: v[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      const p = path ? `${path}.${k.slice(0, 40)}` : k.slice(0, 40);
      if (isUnstorableText(k)) return p;
      stack.push({ v: child, path: p, depth: depth + 1 });
    }
  }
  return undefined;
}

/** Depth of a JSON value (iterative); stops counting past `limit`. */
export function jsonDepth(value: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    max = Math.max(max, d + 1);
    if (max > limit) return max;
    for (const c of Array.isArray(v) ? v : Object.values(v as object)) stack.push([c, d + 1]);
  }
  return max;
}

/**
 * Rejects, before validation, any request whose body, query, path or Idempotency-Key holds text
 * PostgreSQL cannot store (U+0000, lone surrogates): 400 INVALID_CHARACTERS naming the field.
 * Such text would otherwise fail a shared batched INSERT, and with it other requests.
 */
export function registerSanitize(app: App): void {
  app.addHook('preValidation', async (req) => {
    // A route may check the items of one array itself, per item (the batch API).
    const items = req.routeOptions.config?.sanitizeItems;
    const body =
      items && req.body && typeof req.body === 'object' && !Array.isArray(req.body)
        ? { ...(req.body as Record<string, unknown>), [items]: undefined }
        : req.body;
    for (const [where, value] of [
      ['body', body],
      ['query', req.query],
      ['path', req.params],
      ['headers', { 'idempotency-key': req.headers['idempotency-key'] }],
    ] as const) {
      const bad = findUnstorableText(value);
      if (bad !== undefined)
        throw new AppError(
          'INVALID_CHARACTERS',
          `${where} field ${bad} holds a NUL (U+0000) or a lone surrogate`,
        );
    }
  });
}
