import type { CacheConfig } from '../config/types.ts';

/** What the cache may do for one request. */
export interface CacheUse {
  /** Look for a stored answer (and join a flight in progress). */
  lookup: boolean;
  /** Store the answer this request obtains. */
  store: boolean;
  /** Share an upstream call with identical requests in flight. */
  coalesce: boolean;
}

const NO_CACHE: CacheUse = Object.freeze({ lookup: false, store: false, coalesce: false });

/** A request is deterministic when sampling is off (`temperature: 0`) or pinned by a `seed`. */
export function isDeterministic(body: Readonly<Record<string, unknown>>): boolean {
  // Absent temperature means the API default, 1 for OpenAI and DeepSeek: sampled.
  return body.temperature === 0 || (typeof body.seed === 'number' && Number.isFinite(body.seed));
}

function header(v: string | string[] | undefined): string {
  return (Array.isArray(v) ? v.join(',') : (v ?? '')).toLowerCase();
}

/**
 * Decides from the config, the body and the request headers what the cache may do. `cache-control: no-cache`
 * asks for a fresh answer (no lookup, and no joining a flight that started earlier); `no-store` forbids storing
 * it; `x-spillway-cache: off` opts out of both, `on` opts in where the config wants requests to opt in.
 */
export function cacheUse(
  config: Pick<CacheConfig, 'requests' | 'sampled' | 'coalesce'>,
  body: Readonly<Record<string, unknown>>,
  headers: { 'cache-control'?: string | string[] | undefined; 'x-spillway-cache'?: string | string[] | undefined },
): CacheUse {
  const own = header(headers['x-spillway-cache']).trim();
  if (own === 'off') return NO_CACHE;
  if (config.requests === 'opted_in' && own !== 'on') return NO_CACHE;
  if (!config.sampled && !isDeterministic(body)) return NO_CACHE;
  const directives = new Set(
    header(headers['cache-control'])
      .split(',')
      .map((d) => d.trim()),
  );
  const fresh = directives.has('no-cache');
  return { lookup: !fresh, store: !directives.has('no-store'), coalesce: config.coalesce && !fresh };
}
