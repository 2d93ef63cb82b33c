import { showValue } from './key-path.ts';
import type { Problems } from './problems.ts';
import { resolveKeys } from './resolve-keys.ts';
import { configSchema, type RawConfig } from './schema.ts';
import type { AccountConfig, RateLimits, UpstreamConfig } from './types.ts';
import { kindFromUrl } from '../upstream/upstream-kind.ts';

type RawUpstream = RawConfig['upstreams'][number];
const UPSTREAM = configSchema.properties.upstreams.items.properties;

/** Requests and tokens per minute as written, each falling back to `fallback`'s (an account to its upstream's). */
export interface RawLimits {
  requests_per_minute?: number | undefined;
  tokens_per_minute?: number | undefined;
}

export function limitsOf(r: RawLimits, fallback: RawLimits = {}): RateLimits {
  const out: RateLimits = {};
  const rpm = r.requests_per_minute ?? fallback.requests_per_minute;
  const tpm = r.tokens_per_minute ?? fallback.tokens_per_minute;
  if (rpm !== undefined) out.requestsPerMinute = rpm;
  if (tpm !== undefined) out.tokensPerMinute = tpm;
  return out;
}

/** The upstreams; names must be unique, since routes, logs and metrics go by them. */
export function upstreamsOf(raw: RawConfig, p: Problems): UpstreamConfig[] {
  const names = new Map<string, number>();
  return raw.upstreams.map((u, i) => {
    const prev = names.get(u.name);
    if (prev !== undefined)
      p.at(['upstreams', i, 'name'], `got "${u.name}", expected a name not already used by upstreams[${prev}]`);
    names.set(u.name, i);
    try {
      new URL(u.url);
    } catch {
      p.at(['upstreams', i, 'url'], `got ${showValue(u.url)}, expected a valid URL`);
    }
    const known = u.kind ?? kindFromUrl(u.url);
    return {
      name: u.name,
      url: u.url.replace(/\/+$/, ''),
      kind: known ?? 'openai',
      // A Messages-only upstream has no OpenAI `/models` listing to tell its kind by.
      kindProbe: known === undefined && u.api !== 'anthropic',
      api: u.api,
      accounts: accountsOf(u, i, p),
      maxConcurrency: u.max_concurrency,
      weight: u.weight,
      connections: u.connections ?? u.max_concurrency,
      headers: u.headers,
      timeouts: resolveKeys(u.timeouts, UPSTREAM.timeouts),
      simulated: false,
      engineMetrics: engineMetricsOf(u),
    };
  });
}

function engineMetricsOf(u: RawUpstream): UpstreamConfig['engineMetrics'] {
  const m = u.engine_metrics;
  if (m === null || m === 'off') return null;
  const set = typeof m === 'object';
  const interval = (set ? m.interval : undefined) ?? UPSTREAM.engine_metrics.properties.interval.default;
  return {
    url: (set ? m.url : undefined) ?? `${originOf(u.url)}/metrics`,
    intervalMs: resolveKeys(interval, UPSTREAM.engine_metrics.properties.interval),
    auto: !set,
  };
}

/** One account per key of `keys`, or one for `api_key` (keyless when neither is set); labels must be unique. */
function accountsOf(u: RawUpstream, i: number, p: Problems): AccountConfig[] {
  if (u.api_key !== undefined && u.keys !== undefined)
    p.at(['upstreams', i, 'keys'], 'expected either api_key or keys, not both');
  const accounts = (u.keys ?? [{ key: u.api_key ?? '', name: 'default', max_concurrency: null }]).map((k, j) => ({
    name: k.name ?? `key${j + 1}`,
    apiKey: k.key === '' ? undefined : k.key,
    maxConcurrency: k.max_concurrency ?? u.max_concurrency,
    limits: limitsOf(k, u),
  }));
  const labels = new Set<string>();
  for (const [j, a] of accounts.entries()) {
    if (labels.has(a.name))
      p.at(
        ['upstreams', i, 'keys', j, 'name'],
        `got "${a.name}", expected a name not used by another key of this upstream`,
      );
    labels.add(a.name);
  }
  return accounts;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
