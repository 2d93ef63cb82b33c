import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Ajv } from 'ajv';
import { parseYamlSource, type Locate } from './yaml-source.ts';
import { describeSchemaErrors } from './schema-errors.ts';
import { ConfigError } from '../errors.ts';
import { configSchema } from './schema.ts';
import { interpolateEnv, type Env } from './interpolate.ts';
import { formatKeyPath, showValue } from './key-path.ts';
import { parseDuration } from './duration.ts';
import { exposureProblems } from './exposure.ts';
import { kindFromUrl, type UpstreamKind } from '../upstream/upstream-kind.ts';
import type { UpstreamApi } from '../upstream/upstream-api.ts';
import type { Config, GatewayKey, ModelConfig, Priority, RateLimits, UpstreamConfig } from './types.ts';

const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, allowUnionTypes: true, strict: true });
ajv.addVocabulary(['x-expected']);
const validate = ajv.compile(configSchema);


/** Reads, interpolates, validates and resolves a YAML config file. Throws ConfigError naming every problem. */
export function loadConfigFile(file: string, env: Env = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  return parseConfigText(text, file, env);
}

export function parseConfigText(text: string, file: string, env: Env = process.env): Config {
  const { data, locate } = parseYamlSource(text, file);
  return resolveConfig(data, file, env, locate);
}

/** Validates and resolves an already-parsed config object (zero-config start, tests). */
export function resolveConfig(input: unknown, source: string, env: Env = process.env, locate: Locate = () => ''): Config {
  const problems: string[] = [];
  const data = interpolateEnv(input, env, [], (segs, text) => problems.push(`${formatKeyPath(segs)}${locate(segs)}: ${text}`));
  if (problems.length > 0) throw new ConfigError(source, problems);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(source, [`(top level): got ${showValue(data)}, expected a map with upstreams and models`]);
  }
  if (!validate(data)) {
    throw new ConfigError(source, describeSchemaErrors(validate.errors ?? [], data, locate));
  }
  const config = buildConfig(data as RawConfig, source, locate, problems);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return deepFreeze(config);
}

interface RawLimits { requests_per_minute?: number; tokens_per_minute?: number }

function limitsOf(r: RawLimits, fallback: RawLimits = {}): RateLimits {
  const out: RateLimits = {};
  const rpm = r.requests_per_minute ?? fallback.requests_per_minute;
  const tpm = r.tokens_per_minute ?? fallback.tokens_per_minute;
  if (rpm !== undefined) out.requestsPerMinute = rpm;
  if (tpm !== undefined) out.tokensPerMinute = tpm;
  return out;
}

interface RawTimeouts { connect: string; first_token: string; idle: string; total: string }
interface RawUpstream {
  name: string; url: string; kind: UpstreamKind | null; api: UpstreamApi; api_key?: string; keys?: ({ key: string; name?: string; max_concurrency: number | null } & RawLimits)[]; max_concurrency: number; weight: number;
  requests_per_minute?: number; tokens_per_minute?: number;
  connections: number | null; headers: Record<string, string>; timeouts: RawTimeouts;
  engine_metrics: { url?: string; interval: string } | null;
}
interface RawConfig {
  server: {
    host: string; port: number; body_limit_bytes: number; default_deadline: string; drain_grace: string; body_timeout: string; upload_timeout: string; max_connections: number;
    allow_unauthenticated: boolean; allowed_hosts: string[]; sse_comments: boolean;
  };
  admin: { key: string | null; request_log_size: number };
  log: { level: string; requests: boolean; access_file: string | null; access_file_max_size: string; access_file_interval: string | null; access_file_keep: number };
  auth: { keys: ({ key?: string; key_sha256?: string; tenant: string; models?: string[] } & RawLimits)[] };
  tenants: Record<string, { priority: Priority; max_priority?: Priority } & RawLimits>;
  state: { redis: { url: string; prefix: string; local_fraction: number } | null };
  upstreams: RawUpstream[];
  models: Record<string, {
    routes: { upstream: string; model?: string; weight: number; params: Record<string, unknown> }[]; fallback: string[];
    continuation: ModelConfig['continuation']; degrade_to: string | null; hedge: { percentile: number; min_delay: string; max_delay: string } | null;
  } & RawLimits>;
  queue: { enabled: boolean; max_size: number; max_wait: string; stream_keepalive: string; recheck_margin: number };
  degrade: { queue_depth: number | null; shed_percent: number | null; window: string; max_tokens: number | null };
  adaptive_concurrency: { enabled: boolean; decrease_factor: number; min_limit: number; decrease_interval: string };
  retry: { max_attempts: number; backoff_base: string; backoff_cap: string; budget_ratio: number; budget_min_per_second: number; budget_window: string; cooldown_default: string };
  health: { failure_threshold: number; failure_rate_percent: number; failure_rate_min_requests: number; failure_rate_window: string; ejection_base: string; ejection_max: string; max_ejected_percent: number };
  tracing: { otlp_endpoint: string | null; service_name: string; sample_ratio: number; headers: Record<string, string> };
  cache: {
    models: string[]; requests: 'all' | 'opted_in'; sampled: boolean; coalesce: boolean; ttl: string; ttl_jitter_percent: number; stale_for: string;
    stale_on_error: boolean; stale_when_degraded: boolean; memory_max_bytes: number; max_entry_bytes: number; tenant_groups: Record<string, string[]>;
    redis: { url: string; prefix: string; timeout: string } | null;
    semantic: { upstream: string; model: string; threshold: number; max_entries: number } | null;
  };
  jobs: {
    enabled: boolean; store: 'sqlite' | 'redis'; data_dir: string; max_items: number; max_file_bytes: number; max_batch_items: number; tenant_max_files: number; tenant_max_stored_bytes: number; retention: string;
    inline_result_max_bytes: number; concurrency: number; tenant_concurrency: number | null; spare_percent: number; headroom_window: string; max_event_loop_lag: string; max_attempts: number;
    backoff_base: string; backoff_cap: string; lease: string; item_timeout: string; run_windows: string[]; prefix_chars: number; poll_interval: string;
    webhook: { secret: string | null; timeout: string; max_attempts: number; allowed_hosts: string[]; allow_private: boolean };
  };
  responses: { store: 'auto' | 'memory' | 'sqlite' | 'redis'; retention: string; tenant_max_bytes: number };
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
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

const RANK: Record<Priority, number> = { high: 0, normal: 1, low: 2 };

/** `high` only when the tenant is given it, by max_priority or by a default priority of high. */
function maxPriorityOf(t: { priority: Priority; max_priority?: Priority }): Priority {
  return t.max_priority ?? (t.priority === 'high' ? 'high' : 'normal');
}

function ms(text: string): number {
  // The schema pattern already guarantees the form.
  return parseDuration(text) ?? 0;
}

/** null for `auto` (the gateway adapts the value), else the pinned milliseconds. */
function msOrAuto(text: string): number | null {
  return text === 'auto' ? null : ms(text);
}

function buildConfig(raw: RawConfig, source: string, locate: Locate, problems: string[]): Config {
  const problem = (segs: (string | number)[], text: string) => {
    problems.push(`${formatKeyPath(segs)}${locate(segs.map(String))}: ${text}`);
  };
  const names = new Map<string, number>();
  const upstreams: UpstreamConfig[] = raw.upstreams.map((u, i) => {
    const prev = names.get(u.name);
    if (prev !== undefined) problem(['upstreams', i, 'name'], `got "${u.name}", expected a name not already used by upstreams[${prev}]`);
    names.set(u.name, i);
    try {
      new URL(u.url);
    } catch {
      problem(['upstreams', i, 'url'], `got ${showValue(u.url)}, expected a valid URL`);
    }
    const t = u.timeouts;
    if (u.api_key !== undefined && u.keys !== undefined) problem(['upstreams', i, 'keys'], 'expected either api_key or keys, not both');
    const accounts = (u.keys ?? [{ key: u.api_key ?? '', name: 'default', max_concurrency: null }]).map((k, j) => ({
      name: k.name ?? `key${j + 1}`,
      apiKey: k.key === '' ? undefined : k.key,
      maxConcurrency: k.max_concurrency ?? u.max_concurrency,
      limits: limitsOf(k as RawLimits, u),
    }));
    const labels = new Set<string>();
    for (const [j, a] of accounts.entries()) {
      if (labels.has(a.name)) problem(['upstreams', i, 'keys', j, 'name'], `got "${a.name}", expected a name not used by another key of this upstream`);
      labels.add(a.name);
    }
    const known = u.kind ?? kindFromUrl(u.url);
    return {
      name: u.name,
      url: u.url.replace(/\/+$/, ''),
      kind: known ?? 'openai',
      // A Messages-only upstream has no OpenAI `/models` listing to tell its kind by.
      kindProbe: known === undefined && u.api !== 'anthropic',
      api: u.api,
      accounts,
      maxConcurrency: u.max_concurrency,
      weight: u.weight,
      connections: u.connections ?? u.max_concurrency,
      headers: u.headers,
      timeouts: { connectMs: ms(t.connect), firstTokenMs: msOrAuto(t.first_token), idleMs: msOrAuto(t.idle), totalMs: ms(t.total) },
      simulated: false,
      engineMetrics: u.engine_metrics === null ? null : { url: u.engine_metrics.url ?? `${originOf(u.url)}/metrics`, intervalMs: ms(u.engine_metrics.interval) },
    };
  });
  const models: Record<string, ModelConfig> = {};
  for (const [name, m] of Object.entries(raw.models)) {
    models[name] = {
      name,
      routes: m.routes.map((r, i) => {
        if (!names.has(r.upstream)) {
          problem(['models', name, 'routes', i, 'upstream'], `got "${r.upstream}", expected the name of an upstream (one of: ${[...names.keys()].join(', ')})`);
        }
        return { upstream: r.upstream, model: r.model ?? name, weight: r.weight, params: r.params };
      }),
      fallback: m.fallback,
      continuation: m.continuation,
      limits: limitsOf(m),
      degradeTo: m.degrade_to,
      // A hedge goes to another upstream: with one upstream there is none, and the hedge would only take and give
      // back a slot of the same one. Left out at startup rather than tried per request.
      hedge: m.hedge === null || new Set(m.routes.map((r) => r.upstream)).size < 2 ? null : { percentile: m.hedge.percentile, minDelayMs: ms(m.hedge.min_delay), maxDelayMs: ms(m.hedge.max_delay) },
    };
  }
  for (const [name, m] of Object.entries(raw.models)) {
    if (m.degrade_to !== null && (m.degrade_to === name || !(m.degrade_to in raw.models))) {
      problem(['models', name, 'degrade_to'], `got "${m.degrade_to}", expected another public model (one of: ${Object.keys(raw.models).filter((n) => n !== name).join(', ') || 'none'})`);
    }
    for (const [j, f] of m.fallback.entries()) {
      if (f === name || !(f in raw.models)) {
        problem(['models', name, 'fallback', j], `got "${f}", expected another public model (one of: ${Object.keys(raw.models).filter((n) => n !== name).join(', ') || 'none'})`);
      }
    }
  }
  const keys: GatewayKey[] = raw.auth.keys.map((k, i) => {
    if ((k.key === undefined) === (k.key_sha256 === undefined)) {
      problem(['auth', 'keys', i], 'expected exactly one of key or key_sha256');
    }
    // A typo in a tenant name would otherwise make a tenant of its own, outside every limit and priority cap.
    if (!(k.tenant in raw.tenants)) {
      const declared = Object.keys(raw.tenants);
      problem(['auth', 'keys', i, 'tenant'], `got "${k.tenant}", expected a tenant declared under tenants (${declared.length === 0 ? 'none is: add tenants: { ' + k.tenant + ': {} }' : `one of: ${declared.join(', ')}`})`);
    }
    for (const [j, m] of (k.models ?? []).entries()) {
      if (!(m in models)) problem(['auth', 'keys', i, 'models', j], `got "${m}", expected a public model (one of: ${Object.keys(models).join(', ')})`);
    }
    const sha256 = k.key_sha256 ?? createHash('sha256').update(k.key ?? '').digest('hex');
    return { sha256, tenant: k.tenant, models: k.models ?? null, limits: limitsOf(k) };
  });
  for (const [name, t] of Object.entries(raw.tenants)) {
    if (RANK[t.priority] < RANK[maxPriorityOf(t)]) problem(['tenants', name, 'priority'], `got "${t.priority}", expected at most its max_priority ("${maxPriorityOf(t)}")`);
  }
  const r = raw.retry;
  const h = raw.health;
  if (ms(h.ejection_max) < ms(h.ejection_base)) {
    problem(['health', 'ejection_max'], `got "${h.ejection_max}", expected at least health.ejection_base ("${h.ejection_base}")`);
  }
  const j = raw.jobs;
  const rs = raw.responses;
  if (rs.store === 'redis' && raw.state.redis === null) problem(['responses', 'store'], 'got "redis", expected state.redis to be set (stored responses use that Redis)');
  if (j.enabled && j.store === 'redis' && raw.state.redis === null) {
    problem(['jobs', 'store'], 'got "redis", expected state.redis to be set (the job store uses that Redis)');
  }
  if (ms(j.backoff_cap) < ms(j.backoff_base)) problem(['jobs', 'backoff_cap'], `got "${j.backoff_cap}", expected at least jobs.backoff_base ("${j.backoff_base}")`);
  const s = raw.server;
  for (const p of exposureProblems({ host: s.host, allowUnauthenticated: s.allow_unauthenticated, gatewayKeys: keys.length, adminKey: raw.admin.key }, 'server.host', locate(['server', 'host']))) problems.push(p);
  const tr = raw.tracing;
  // Empty means off, so a file can say `${OTEL_ENDPOINT:-}` and leave the choice to the environment.
  const otlpEndpoint = tr.otlp_endpoint === null || tr.otlp_endpoint === '' ? null : tracesUrl(tr.otlp_endpoint);
  if (otlpEndpoint === undefined) problem(['tracing', 'otlp_endpoint'], `got ${showValue(tr.otlp_endpoint)}, expected null, empty, or an http(s) URL`);
  const c = raw.cache;
  for (const [i, m] of c.models.entries()) {
    if (!(m in models)) problem(['cache', 'models', i], `got "${m}", expected a public model (one of: ${Object.keys(models).join(', ')})`);
  }
  const grouped = new Map<string, string>();
  for (const [group, tenants] of Object.entries(c.tenant_groups)) {
    for (const [i, t] of tenants.entries()) {
      const other = grouped.get(t);
      if (other !== undefined) problem(['cache', 'tenant_groups', group, i], `got "${t}", expected a tenant in one group only (it is already in "${other}")`);
      grouped.set(t, group);
    }
  }
  if (c.semantic !== null && !names.has(c.semantic.upstream)) {
    problem(['cache', 'semantic', 'upstream'], `got "${c.semantic.upstream}", expected the name of an upstream (one of: ${[...names.keys()].join(', ')})`);
  }
  return {
    source,
    server: {
      host: s.host, port: s.port, bodyLimitBytes: s.body_limit_bytes, defaultDeadlineMs: ms(s.default_deadline),
      drainGraceMs: ms(s.drain_grace), bodyTimeoutMs: ms(s.body_timeout), uploadTimeoutMs: ms(s.upload_timeout), maxConnections: s.max_connections,
      allowUnauthenticated: s.allow_unauthenticated, allowedHosts: s.allowed_hosts, sseComments: s.sse_comments,
    },
    admin: { key: raw.admin.key, requestLogSize: raw.admin.request_log_size },
    log: {
      level: raw.log.level, requests: raw.log.requests,
      accessFile: raw.log.access_file === null ? null : { path: raw.log.access_file, maxSize: raw.log.access_file_max_size, interval: raw.log.access_file_interval, keep: raw.log.access_file_keep },
    },
    auth: { keys },
    tenants: Object.fromEntries(Object.entries(raw.tenants).map(([name, t]) => [name, { priority: t.priority, maxPriority: maxPriorityOf(t), limits: limitsOf(t) }])),
    state: { redis: raw.state.redis === null ? null : { url: raw.state.redis.url, prefix: raw.state.redis.prefix, localFraction: raw.state.redis.local_fraction } },
    upstreams,
    models,
    queue: { enabled: raw.queue.enabled, maxSize: raw.queue.max_size, maxWaitMs: ms(raw.queue.max_wait), streamKeepaliveMs: ms(raw.queue.stream_keepalive), recheckMargin: raw.queue.recheck_margin },
    degrade: { queueDepth: raw.degrade.queue_depth, shedPercent: raw.degrade.shed_percent, windowMs: ms(raw.degrade.window), maxTokens: raw.degrade.max_tokens },
    adaptiveConcurrency: {
      enabled: raw.adaptive_concurrency.enabled, decreaseFactor: raw.adaptive_concurrency.decrease_factor,
      minLimit: raw.adaptive_concurrency.min_limit, decreaseIntervalMs: ms(raw.adaptive_concurrency.decrease_interval),
    },
    retry: {
      maxAttempts: r.max_attempts, backoffBaseMs: ms(r.backoff_base), backoffCapMs: ms(r.backoff_cap), budgetRatio: r.budget_ratio,
      budgetMinPerSecond: r.budget_min_per_second, budgetWindowMs: ms(r.budget_window), cooldownDefaultMs: ms(r.cooldown_default),
    },
    health: {
      failureThreshold: h.failure_threshold, failureRatePercent: h.failure_rate_percent, failureRateMinRequests: h.failure_rate_min_requests,
      failureRateWindowMs: ms(h.failure_rate_window), ejectionBaseMs: ms(h.ejection_base), ejectionMaxMs: ms(h.ejection_max),
      maxEjectedPercent: h.max_ejected_percent,
    },
    tracing: { otlpEndpoint: otlpEndpoint ?? null, serviceName: tr.service_name, sampleRatio: tr.sample_ratio, headers: tr.headers },
    cache: {
      models: c.models, requests: c.requests, sampled: c.sampled, coalesce: c.coalesce, ttlMs: ms(c.ttl), ttlJitterPercent: c.ttl_jitter_percent,
      staleForMs: ms(c.stale_for), staleOnError: c.stale_on_error, staleWhenDegraded: c.stale_when_degraded, memoryMaxBytes: c.memory_max_bytes,
      maxEntryBytes: c.max_entry_bytes, tenantGroups: c.tenant_groups,
      redis: c.redis === null ? null : { url: c.redis.url, prefix: c.redis.prefix, timeoutMs: ms(c.redis.timeout) },
      semantic: c.semantic === null ? null : { upstream: c.semantic.upstream, model: c.semantic.model, threshold: c.semantic.threshold, maxEntries: c.semantic.max_entries },
    },
    jobs: {
      enabled: j.enabled, store: j.store, dataDir: j.data_dir, maxItems: j.max_items, maxFileBytes: j.max_file_bytes, maxBatchItems: j.max_batch_items,
      tenantMaxFiles: j.tenant_max_files, tenantMaxStoredBytes: j.tenant_max_stored_bytes,
      retentionMs: ms(j.retention), inlineResultMaxBytes: j.inline_result_max_bytes, concurrency: j.concurrency, tenantConcurrency: j.tenant_concurrency,
      sparePercent: j.spare_percent, headroomWindowMs: ms(j.headroom_window), maxLoopLagMs: ms(j.max_event_loop_lag), maxAttempts: j.max_attempts, backoffBaseMs: ms(j.backoff_base), backoffCapMs: ms(j.backoff_cap), leaseMs: ms(j.lease),
      itemTimeoutMs: ms(j.item_timeout), runWindows: j.run_windows, prefixChars: j.prefix_chars, pollIntervalMs: ms(j.poll_interval),
      webhook: { secret: j.webhook.secret, timeoutMs: ms(j.webhook.timeout), maxAttempts: j.webhook.max_attempts, allowedHosts: j.webhook.allowed_hosts, allowPrivate: j.webhook.allow_private },
    },
    // auto: where every instance finds them when instances share a Redis, else on this machine's disk.
    responses: { store: rs.store === 'auto' ? (raw.state.redis === null ? 'sqlite' : 'redis') : rs.store, retentionMs: ms(rs.retention), tenantMaxBytes: rs.tenant_max_bytes },
    raw,
  };
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

