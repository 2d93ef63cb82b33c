import { BlockList, isIP, type LookupFunction } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';

/**
 * Where a webhook may go. `x-spillway-webhook-url` is chosen by an API client, and Spillway POSTs to it from inside
 * the operator's network: without limits a client reaches loopback (Spillway's own admin API), private ranges and
 * cloud metadata (169.254.169.254) — server-side request forgery. So a destination must be on the configured
 * allow-list (`jobs.webhook.allowed_hosts`; empty: webhooks refused), and the address it resolves to must be a
 * public one (unless `jobs.webhook.allow_private`, for a receiver on the operator's own network or a test). The
 * address is checked in the connection's own DNS lookup (`webhookLookup`), so the address checked is the address
 * connected to: a name that resolves to a public address for the check and a private one for the connection
 * (DNS rebinding) has no second lookup to exploit.
 */
export interface WebhookPolicy {
  allowedHosts: readonly string[];
  allowPrivate: boolean;
}

/** Not public: unspecified, loopback, private, shared (CGNAT), link-local, benchmarking, multicast, reserved. */
const NOT_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  NOT_PUBLIC.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
  // Translation prefixes embed an IPv4 address that may be private: refused whole.
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['2002::', 16],
] as const)
  NOT_PUBLIC.addSubnet(net, bits, 'ipv6');

/** True when `ip` (an address, not a name) is not a public unicast address. IPv4-mapped IPv6 is judged as IPv4. */
export function isNonPublicAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 0) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped?.[1] !== undefined) return NOT_PUBLIC.check(mapped[1], 'ipv4');
  return NOT_PUBLIC.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/** Does `host` (a URL's hostname, lower case) match an allow-list entry: `hooks.example.com` or `*.example.com`? */
function allowedHost(host: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => {
    const entry = a.toLowerCase().replace(/^\[|\]$/g, '');
    return entry.startsWith('*.') ? host.endsWith(entry.slice(1)) && host.length > entry.length - 1 : host === entry;
  });
}

/**
 * Why `url` may not receive a webhook under `policy`, or null when it may (its resolved address is checked again
 * when it is sent). Pure: the request path calls it before storing the job.
 */
export function webhookUrlProblem(url: string, policy: WebhookPolicy): string | null {
  if (policy.allowedHosts.length === 0)
    return 'Webhooks are off: jobs.webhook.allowed_hosts is empty (the operator lists the hosts webhooks may go to).';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'x-spillway-webhook-url must be an absolute http(s) URL.';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'x-spillway-webhook-url must be an http(s) URL.';
  if (u.username !== '' || u.password !== '') return 'x-spillway-webhook-url must not carry credentials.';
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (!allowedHost(host, policy.allowedHosts))
    return `The webhook host "${host}" is not in jobs.webhook.allowed_hosts.`;
  if (isIP(host) !== 0 && !policy.allowPrivate && isNonPublicAddress(host))
    return `The webhook address ${host} is not a public address.`;
  return null;
}

/** The error a refused resolution fails the connection with (logged by the sender; never shown to a client). */
export class NonPublicAddressError extends Error {
  readonly code = 'ENONPUBLIC';
  constructor(host: string, address: string) {
    super(`webhook host ${host} resolves to ${address}, which is not a public address`);
    this.name = 'NonPublicAddressError';
  }
}

/**
 * A `lookup` for the webhook connections (net.connect's option, passed through undici's `connect`): resolves as
 * usual, then refuses when any resolved address is not public, so the socket connects only to an address that was
 * checked. Every address is checked, not only the first: a name with one public and one private record could
 * otherwise land on the private one when the first fails.
 */
export function webhookLookup(allowPrivate: boolean, resolve: typeof dnsLookup = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => {
      if (err !== null) {
        callback(err, '', 0);
        return;
      }
      const bad = allowPrivate ? undefined : addresses.find((a) => isNonPublicAddress(a.address));
      if (bad !== undefined || addresses.length === 0) {
        callback(new NonPublicAddressError(hostname, bad?.address ?? '(no address)'), '', 0);
        return;
      }
      if (options.all === true) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      else callback(null, (addresses[0] as LookupAddress).address, (addresses[0] as LookupAddress).family);
    });
  };
}
