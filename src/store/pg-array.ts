// node-postgres serializes an array parameter by string concatenation: a few short-lived cons
// strings per element, about 200 bytes of garbage each. The hot statements pass whole batches as
// column arrays (tens of thousands of elements a second), which made pg's `arrayString` the largest
// single source of young-generation garbage in the gateway (13.6 % of all allocation at 2,000
// messages/s, carrier bound). This builds the same literal from one array of parts and one join.
const NEEDS_ESCAPE = /[\\"]/;
const ESCAPE = /[\\"]/g;

/**
 * The PostgreSQL array literal node-postgres would send for `values` — character for character
 * (test/unit/pg-array.test.ts holds it to the library as an oracle) — or `undefined` when an
 * element is of a kind this fast path does not take (dates, buffers, objects, nested arrays); the
 * caller then leaves the array to the library. Never throws.
 */
export function pgArrayLiteral(values: readonly unknown[]): string | undefined {
  const n = values.length;
  if (n === 0) return '{}';
  const parts: string[] = ['{'];
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (i > 0) parts.push(',');
    if (v === null || v === undefined) {
      parts.push('NULL');
      continue;
    }
    let s: string;
    if (typeof v === 'string') s = v;
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') s = String(v);
    else return undefined;
    // Quote and body as separate parts: no short-lived concatenated string per element.
    parts.push('"', NEEDS_ESCAPE.test(s) ? s.replace(ESCAPE, '\\$&') : s, '"');
  }
  parts.push('}');
  return parts.join('');
}

/**
 * Parameters with each array of plain values (strings, numbers, booleans, nulls) already turned
 * into its literal; anything else passes through for node-postgres to serialize. Returns the input
 * itself when nothing changed.
 */
export function prepareArrayParams(params: unknown[] | undefined): unknown[] | undefined {
  if (!params) return params;
  let out: unknown[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (!Array.isArray(p)) continue;
    const lit = pgArrayLiteral(p);
    if (lit === undefined) continue;
    out ??= params.slice();
    out[i] = lit;
  }
  return out ?? params;
}
