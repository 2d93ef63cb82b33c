import { exposureProblems } from './exposure.ts';
import { showValue } from './key-path.ts';
import type { Problems } from './problems.ts';
import { ms, resolveKeys } from './resolve-keys.ts';
import { configSchema, type RawConfig } from './schema.ts';
import type { Config, ModelConfig } from './types.ts';
import { upstreamsOf } from './build-upstreams.ts';
import { modelsOf } from './build-models.ts';
import { keysOf, tenantsOf } from './build-auth.ts';

const S = configSchema.properties;

/**
 * The sections resolved by the renaming rule alone (resolve-keys.ts), with nothing to check or derive key by key:
 * what must agree across them is checked below. Every other section is built by its own function.
 */
const BY_RULE = {
  properties: {
    server: S.server,
    admin: S.admin,
    state: S.state,
    queue: S.queue,
    degrade: S.degrade,
    adaptive_concurrency: S.adaptive_concurrency,
    retry: S.retry,
    health: S.health,
    cache: S.cache,
    jobs: S.jobs,
  },
} as const;

/** The resolved config from the validated file; what no schema can say (names that must match) goes to `p`. */
export function buildConfig(raw: RawConfig, source: string, p: Problems): Config {
  const upstreams = upstreamsOf(raw, p);
  const upstreamNames = [...new Set(upstreams.map((u) => u.name))];
  const models = modelsOf(raw, upstreamNames, p);
  const keys = keysOf(raw, models, p);
  const tenants = tenantsOf(raw, p);
  checkAcrossSections(raw, keys.length, p);
  const tracing = tracingOf(raw.tracing, p);
  checkCache(raw.cache, models, upstreamNames, p);
  return {
    source,
    ...resolveKeys(raw, BY_RULE),
    log: logOf(raw.log),
    auth: { keys },
    tenants,
    upstreams,
    models,
    tracing,
    responses: responsesOf(raw),
    raw,
  };
}

/** Stored responses: `auto` is where every instance finds them when instances share a Redis, else this disk. */
function responsesOf(raw: RawConfig): Config['responses'] {
  const r = raw.responses;
  return {
    store: r.store === 'auto' ? (raw.state.redis === null ? 'sqlite' : 'redis') : r.store,
    retentionMs: ms(r.retention),
    tenantMaxBytes: r.tenant_max_bytes,
  };
}

/** The access log settings as rotating-file-stream takes them, or null when there is no access log file. */
function logOf(l: RawConfig['log']): Config['log'] {
  const accessFile =
    l.access_file === null
      ? null
      : {
          path: l.access_file,
          maxSize: l.access_file_max_size,
          interval: l.access_file_interval,
          keep: l.access_file_keep,
        };
  return { level: l.level, requests: l.requests, accessFile };
}

function tracingOf(t: RawConfig['tracing'], p: Problems): Config['tracing'] {
  // Empty means off, so a file can say `${OTEL_ENDPOINT:-}` and leave the choice to the environment.
  const otlpEndpoint = t.otlp_endpoint === null || t.otlp_endpoint === '' ? null : tracesUrl(t.otlp_endpoint);
  if (otlpEndpoint === undefined)
    p.at(['tracing', 'otlp_endpoint'], `got ${showValue(t.otlp_endpoint)}, expected null, empty, or an http(s) URL`);
  return {
    otlpEndpoint: otlpEndpoint ?? null,
    serviceName: t.service_name,
    sampleRatio: t.sample_ratio,
    headers: t.headers,
  };
}

/**
 * The OTLP/HTTP traces URL: as given when it has a path, else the collector's standard `/v1/traces` (operators
 * often write just `http://collector:4318`). Undefined when it is not an http(s) URL.
 */
function tracesUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
  return url.toString();
}

/** Settings that must agree with one another, and where the gateway may listen with the keys it has. */
function checkAcrossSections(raw: RawConfig, gatewayKeys: number, p: Problems): void {
  const h = raw.health;
  if (ms(h.ejection_max) < ms(h.ejection_base))
    p.at(
      ['health', 'ejection_max'],
      `got "${h.ejection_max}", expected at least health.ejection_base ("${h.ejection_base}")`,
    );
  if (raw.responses.store === 'redis' && raw.state.redis === null)
    p.at(['responses', 'store'], 'got "redis", expected state.redis to be set (stored responses use that Redis)');
  const j = raw.jobs;
  if (j.enabled && j.store === 'redis' && raw.state.redis === null) {
    p.at(['jobs', 'store'], 'got "redis", expected state.redis to be set (the job store uses that Redis)');
  }
  if (ms(j.backoff_cap) < ms(j.backoff_base))
    p.at(['jobs', 'backoff_cap'], `got "${j.backoff_cap}", expected at least jobs.backoff_base ("${j.backoff_base}")`);
  const s = raw.server;
  const exposure = {
    host: s.host,
    allowUnauthenticated: s.allow_unauthenticated,
    gatewayKeys,
    adminKey: raw.admin.key,
  };
  p.add(exposureProblems(exposure, 'server.host', p.locate(['server', 'host'])));
}

/** Cached models are public models, a tenant shares answers with one group at most, the embedder is an upstream. */
function checkCache(
  c: RawConfig['cache'],
  models: Readonly<Record<string, ModelConfig>>,
  upstreams: readonly string[],
  p: Problems,
): void {
  for (const [i, m] of c.models.entries()) {
    if (!(m in models))
      p.at(['cache', 'models', i], `got "${m}", expected a public model (one of: ${Object.keys(models).join(', ')})`);
  }
  const grouped = new Map<string, string>();
  for (const [group, tenants] of Object.entries(c.tenant_groups)) {
    for (const [i, t] of tenants.entries()) {
      const other = grouped.get(t);
      if (other !== undefined)
        p.at(
          ['cache', 'tenant_groups', group, i],
          `got "${t}", expected a tenant in one group only (it is already in "${other}")`,
        );
      grouped.set(t, group);
    }
  }
  if (c.semantic !== null && !upstreams.includes(c.semantic.upstream)) {
    p.at(
      ['cache', 'semantic', 'upstream'],
      `got "${c.semantic.upstream}", expected the name of an upstream (one of: ${upstreams.join(', ')})`,
    );
  }
}
