import { request } from 'undici';

const MAX_BODY = 1 << 20;

/**
 * One JSON call to an outside service (number provider, registry): bounded in time and size.
 * Resolves with the status and the body when it is a JSON object (`{}` otherwise: an answer of
 * another shape is the caller's to refuse by status or fields); rejects with the transport,
 * timeout, size or parse error for the caller to map.
 */
export async function jsonCall(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await request(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of r.body) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) {
      r.body.destroy();
      throw new Error(`answer larger than ${MAX_BODY} bytes`);
    }
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const v: unknown = text ? JSON.parse(text) : {};
  return {
    status: r.statusCode,
    json: v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {},
  };
}
