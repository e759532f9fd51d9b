// node-postgres serializes an array parameter by string concatenation with an escaping replace
// per element: about 200 bytes of garbage each. The hot statements pass whole batches as column
// arrays (tens of thousands of elements a second), which made pg's `arrayString` the largest
// single source of young-generation garbage in the gateway (13.6 % of all allocation at 2,000
// messages/s, carrier bound). This escapes only an element that needs it. The literal is built by
// `+=` (a rope, flattened once when the query is written): ~73 ns per element against ~115 for
// an array of parts and a join, with the collections included (60-element columns of ids,
// numbers, counts and bodies).
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
  let out = '{';
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else if (typeof v === 'string')
      out += v.indexOf('"') === -1 && v.indexOf('\\') === -1 ? `"${v}"` : `"${v.replace(ESCAPE, '\\$&')}"`;
    // A number, boolean or bigint prints no quote or backslash.
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') out += `"${v}"`;
    else return undefined;
  }
  return `${out}}`;
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
