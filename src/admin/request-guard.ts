import { isIP } from 'node:net';
import type { IncomingMessage as Req, ServerResponse } from 'node:http';
import { SpillwayError } from '../errors.ts';
import { renderError } from '../api/render-error.ts';
import { isLoopbackHost } from '../config/exposure.ts';

/**
 * What a browser can be made to send to a gateway it can reach, and what stops it. Pure checks on the request's
 * headers (no I/O), used by the admin router and the API:
 *
 * - **DNS rebinding**: a page on `evil.example` re-points its name at 127.0.0.1 and then reads and writes the
 *   loopback gateway as if same-origin. Its requests carry `Host: evil.example`, so on a loopback listener only
 *   loopback names (and `server.allowed_hosts`) are answered. On other listeners the keys (mandatory there, see
 *   config/exposure.ts) do that job, unless `server.allowed_hosts` is set, which then applies everywhere.
 * - **CSRF**: a cross-site page can POST a form (urlencoded, multipart, text/plain) without a preflight, carrying
 *   no key but reaching a keyless loopback gateway. State-changing admin requests must say
 *   `content-type: application/json`, which a cross-site page cannot send without a CORS preflight Spillway never
 *   grants, and a request with an `Origin` must come from the gateway's own origin.
 */
export interface GuardPolicy {
  /** The address the gateway listens on (after --host). */
  listenHost: string;
  /** server.allowed_hosts: further names clients use to reach the gateway. */
  allowedHosts: readonly string[];
}

/** The host part of a Host header or URL authority, lower case, brackets and port removed. */
function hostname(authority: string): string {
  const a = authority.trim().toLowerCase();
  if (a.startsWith('[')) return a.slice(1, a.indexOf(']') === -1 ? undefined : a.indexOf(']'));
  if (isIP(a) === 6) return a;
  const colon = a.lastIndexOf(':');
  return colon === -1 ? a : a.slice(0, colon);
}

/** Why this Host header is not answered under `policy`, or null. A request without Host (HTTP/1.0) is not a browser's. */
export function hostProblem(host: string | undefined, policy: GuardPolicy): string | null {
  const enforce = isLoopbackHost(policy.listenHost) || policy.allowedHosts.length > 0;
  if (!enforce || host === undefined) return null;
  const name = hostname(host);
  const listen = hostname(
    policy.listenHost.includes(':') && !policy.listenHost.startsWith('[')
      ? `[${policy.listenHost}]`
      : policy.listenHost,
  );
  if (isLoopbackHost(name) || name === listen || policy.allowedHosts.some((h) => h.toLowerCase() === name)) return null;
  return `Host "${name}" is not a name of this gateway (a loopback name, ${policy.listenHost}, or one of server.allowed_hosts); refused to stop DNS rebinding.`;
}

/** Why this Origin header does not match the Host the request was sent to, or null (no Origin: not a cross-site browser request). */
export function originProblem(origin: string | undefined, host: string | undefined): string | null {
  if (origin === undefined) return null;
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return `Origin "${origin}" is not this gateway's origin; cross-site requests are refused.`;
  }
  if (host !== undefined && o.host.toLowerCase() === host.trim().toLowerCase()) return null;
  return `Origin "${origin}" is not this gateway's origin; cross-site requests are refused.`;
}

/** Why a state-changing request's content type is not accepted, or null: only JSON, which forms cannot send. */
export function contentTypeProblem(contentType: string | undefined): string | null {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/json') return null;
  return `State-changing admin requests need "content-type: application/json" (got ${contentType === undefined ? 'none' : `"${contentType}"`}); this stops cross-site form posts.`;
}

/**
 * The checks as the admin router runs them: `origin` on every admin request (Host and Origin, before the key is
 * looked at), `write` on a state-changing one once its route is known. Throws the SpillwayError to render.
 */
export class RequestGuard {
  private policy: GuardPolicy;
  /**
   * The last Host header checked and its verdict: clients send the same one request after request, and checking
   * it (address parsing, loopback tests) was about 1% of a request's CPU. Forgotten when the policy changes.
   */
  private lastHost: { host: string; problem: string | null } | undefined;

  constructor(policy: GuardPolicy) {
    this.policy = policy;
  }

  /** A reload may change server.allowed_hosts (the listener stays). */
  setAllowedHosts(allowedHosts: readonly string[]): void {
    this.policy = { ...this.policy, allowedHosts };
    this.lastHost = undefined;
  }

  origin(req: Req): void {
    const host = req.headers.host;
    const badHost = this.hostProblem(host);
    if (badHost !== null) throw new SpillwayError('host_not_allowed', badHost);
    const origin = req.headers.origin;
    const badOrigin = originProblem(origin, host);
    if (badOrigin !== null) throw new SpillwayError('cross_origin_refused', badOrigin);
  }

  private hostProblem(host: string | undefined): string | null {
    if (host === undefined) return hostProblem(host, this.policy);
    if (this.lastHost?.host !== host) this.lastHost = { host, problem: hostProblem(host, this.policy) };
    return this.lastHost.problem;
  }

  write(req: Req): void {
    if (req.method === 'GET' || req.method === 'HEAD') return;
    const bad = contentTypeProblem(req.headers['content-type']);
    if (bad !== null) throw new SpillwayError('json_required', bad);
  }
}

/**
 * Runs a guard check; when it refuses, answers with its error (the body left unread) and returns true. The checks
 * throw only SpillwayErrors.
 */
export function refused(req: Req, res: ServerResponse, check: () => void): boolean {
  try {
    check();
    return false;
  } catch (err) {
    req.resume();
    renderError(res, err as SpillwayError);
    return true;
  }
}
