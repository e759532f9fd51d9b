/**
 * POSTs callbacks to customer URLs without letting a URL reach what it must not: only http(s);
 * the address actually connected to — after DNS resolution, on every connection — must be a
 * public unicast address (request-filtering-agent checks it at connect time, so DNS rebinding and
 * numeric tricks such as 2130706433 or 0x7f.1 do not get through), and not one of this host's own
 * addresses, unless an operator allowlist names it. Errors never carry the URL (it may hold
 * credentials).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import ipaddr from 'ipaddr.js';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { AppError } from '../errors/app-error.ts';

export type PostResult =
  | { ok: true; status: number; blocked?: undefined }
  | { ok: false; status?: number; error: string; blocked?: boolean };

function ownAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) out.push(a.address);
  return out;
}

function inList(addr: ipaddr.IPv4 | ipaddr.IPv6, list: readonly string[]): boolean {
  for (const entry of list) {
    try {
      if (entry.includes('/')) {
        const cidr = ipaddr.parseCIDR(entry);
        if (addr.kind() === cidr[0].kind() && addr.match(cidr)) return true;
      } else if (ipaddr.parse(entry).toNormalizedString() === addr.toNormalizedString()) return true;
    } catch {
      // config validation rejects bad entries; ignore defensively
    }
  }
  return false;
}

/**
 * Whether a literal IP address may be called: public unicast (IPv4-mapped IPv6 judged as IPv4),
 * not this host's own, or in `allow`.
 */
export function isAllowedAddress(ip: string, allow: readonly string[]): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip);
  } catch {
    return false;
  }
  if (inList(addr, allow)) return true;
  if (addr.range() !== 'unicast') return false;
  return !ownAddresses().some((own) => {
    try {
      return ipaddr.process(own).toNormalizedString() === addr.toNormalizedString();
    } catch {
      return false;
    }
  });
}

/**
 * Checks a callback URL when it is submitted: an http(s) URL, at most 2048 characters, whose host
 * is not a literal address we would refuse to connect to, nor `localhost`. Names are checked
 * again at every connection (their address may change). Throws INVALID_CALLBACK_URL.
 */
export function checkCallbackUrl(raw: string, allow: readonly string[]): void {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new AppError('INVALID_CALLBACK_URL', 'the callback is not a URL');
  }
  if (raw.length > 2048)
    throw new AppError('INVALID_CALLBACK_URL', 'callback URLs are at most 2048 characters');
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new AppError('INVALID_CALLBACK_URL', 'callback URLs must use http or https');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) !== 0) {
    if (!isAllowedAddress(host, allow))
      throw new AppError(
        'INVALID_CALLBACK_URL',
        'the callback host is a loopback, private or reserved address',
      );
    return;
  }
  if (host === 'localhost' || host.endsWith('.localhost') || host === '')
    throw new AppError('INVALID_CALLBACK_URL', 'the callback host is this machine');
}

/** Sends JSON POSTs through filtering agents; one instance per process (keep-alive pools). */
export class WebhookTransport {
  private readonly httpAgent: RequestFilteringHttpAgent;
  private readonly httpsAgent: RequestFilteringHttpsAgent;

  private readonly maxResponseBytes: number;
  private readonly lookup: net.LookupFunction | undefined;

  /** `lookup` replaces DNS resolution (tests simulate rebinding with it); its answers are filtered too. */
  constructor(
    private readonly allow: readonly string[],
    opts: { maxResponseBytes?: number; lookup?: net.LookupFunction } = {},
  ) {
    this.maxResponseBytes = opts.maxResponseBytes ?? 64 * 1024;
    this.lookup = opts.lookup;
    const agentOpts = {
      keepAlive: true,
      maxSockets: 50,
      allowIPAddressList: [...allow],
      // This host's own addresses may be public (a gateway on a public IP): refuse them too.
      denyIPAddressList: ownAddresses().filter((a) => !allow.includes(a)),
    };
    this.httpAgent = new RequestFilteringHttpAgent(agentOpts);
    this.httpsAgent = new RequestFilteringHttpsAgent(agentOpts);
  }

  /** POSTs `body`; never rejects. A refused address is `blocked` (no retry will help until DNS changes). */
  post(
    rawUrl: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<PostResult> {
    let url: URL;
    try {
      url = new URL(rawUrl);
      checkCallbackUrl(rawUrl, this.allow);
    } catch {
      return Promise.resolve({ ok: false, error: 'blocked: URL not allowed', blocked: true });
    }
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<PostResult>((resolve) => {
      let settled = false;
      const finish = (r: PostResult) => {
        if (settled) return;
        settled = true;
        resolve(r);
      };
      const req = mod.request(
        url,
        {
          method: 'POST',
          agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          timeout: timeoutMs,
          ...(this.lookup ? { lookup: this.lookup } : {}),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          let seen = 0;
          res.on('data', (c: Buffer) => {
            seen += c.length;
            if (seen > this.maxResponseBytes) res.destroy();
          });
          res.on('error', () => undefined);
          res.on('close', () =>
            finish(
              status >= 200 && status < 300
                ? { ok: true, status }
                : { ok: false, status, error: `HTTP ${status}` },
            ),
          );
        },
      );
      const timer = setTimeout(() => {
        req.destroy(new Error('timeout'));
      }, timeoutMs);
      timer.unref();
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        finish(describe(err));
      });
      req.on('close', () => clearTimeout(timer));
      req.end(body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** A short error text without the URL or the resolved address. */
function describe(err: NodeJS.ErrnoException): PostResult {
  if (/is not allowed/.test(err.message))
    return { ok: false, error: 'blocked: address not allowed', blocked: true };
  if (err.message === 'timeout') return { ok: false, error: 'timeout' };
  switch (err.code) {
    case 'ECONNREFUSED':
      return { ok: false, error: 'connection refused' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { ok: false, error: 'host not found' };
    case 'ECONNRESET':
      return { ok: false, error: 'connection reset' };
    case 'ETIMEDOUT':
      return { ok: false, error: 'timeout' };
    default:
      return { ok: false, error: err.code ? `network error ${err.code}` : 'network error' };
  }
}
