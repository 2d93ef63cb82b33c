/**
 * The resolved config: validated, defaults applied, durations in milliseconds, frozen. The sections resolved by
 * rule (config/resolve-keys.ts) take their types from the schema, where each key is declared once; the sections
 * built by hand (upstreams, models, keys, tenants, log, tracing) are declared here.
 */
import type { RequestPriority } from '../priority.ts';
import type { UpstreamKind } from '../upstream/upstream-kind.ts';
import type { UpstreamApi } from '../upstream/upstream-apis.ts';
import type { configSchema, RawConfig } from './schema.ts';
import type { Resolved } from './schema-types.ts';

/** A section of the resolved config as the rule makes it from its schema. */
type Section<K extends keyof typeof configSchema.properties> = Resolved<(typeof configSchema.properties)[K]>;

/** null: `auto`, adapted to what the upstream shows (upstream/adaptive-timeouts.ts); a number is pinned. */
type UpstreamTimeouts = Resolved<(typeof configSchema.properties.upstreams.items.properties)['timeouts']>;

/** Requests and tokens per minute; absent fields are not limited. */
export interface RateLimits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

/** One account (API key) on an upstream. */
export interface AccountConfig {
  /** Label in logs and metrics; never the key. */
  name: string;
  apiKey: string | undefined;
  maxConcurrency: number;
  limits: RateLimits;
}

export interface TenantConfig {
  priority: RequestPriority;
  maxPriority: RequestPriority;
  limits: RateLimits;
}

export interface UpstreamConfig {
  name: string;
  /** Base URL without a trailing slash; an endpoint path such as `/chat/completions` is appended. */
  url: string;
  /** As set, else as the URL tells, else `openai` (a startup probe may learn better: see `kindProbe`). */
  kind: UpstreamKind;
  /** Neither the config nor the URL told the kind: a `GET /models` at startup may (upstream-kinds.ts). */
  kindProbe: boolean;
  /** The APIs it serves (upstream-api.ts): whether a Messages request is passed through to it, and whether others may go there. */
  api: UpstreamApi;
  /** One entry per API key (one keyless entry for an upstream without keys). */
  accounts: readonly AccountConfig[];
  maxConcurrency: number;
  weight: number;
  connections: number;
  headers: Readonly<Record<string, string>>;
  timeouts: UpstreamTimeouts;
  /** True for the embedded simulator of the zero-config start. */
  simulated: boolean;
  /**
   * A self-hosted engine's /metrics, read for its queue depth and KV-cache use. `auto`: the default, read only while
   * the upstream is in use and its kind is vllm or sglang, and left alone for a while when it serves none.
   */
  engineMetrics: { url: string; intervalMs: number; auto: boolean } | null;
}

export interface RouteConfig {
  upstream: string;
  /** The model name sent to the upstream. */
  model: string;
  weight: number;
  /** Top-level request fields added on this route when the client did not set them (an alias's mode). */
  params?: Readonly<Record<string, unknown>>;
}

export interface ModelConfig {
  name: string;
  routes: readonly RouteConfig[];
  /** Public models tried, in order, when no route of this one can serve. */
  fallback: readonly string[];
  /** `auto`: chosen per attempt by the upstream's kind (retry/continuation.ts). */
  continuation: 'auto' | 'off' | 'prefix' | 'continue_final_message' | 'prompt';
  limits: RateLimits;
  /** While degraded, low-priority requests go to this public model. */
  degradeTo: string | null;
  /** null: off, or no second upstream to hedge to. */
  hedge: Resolved<(typeof configSchema.properties.models.additionalProperties.properties)['hedge']>;
}

export type RetryConfig = Section<'retry'>;

export type CacheConfig = Section<'cache'>;

export interface GatewayKey {
  /** Hex SHA-256 of the key: keys are compared by hash so the plain key need not stay in memory. */
  sha256: string;
  tenant: string;
  /** Public models this key may use; null means all. */
  models: readonly string[] | null;
  limits: RateLimits;
}

export interface Config {
  /** Where the config came from: a file path, or a description of the built-in default. */
  source: string;
  server: Section<'server'>;
  /** Admin API and dashboard access; a null key leaves them open. */
  admin: Section<'admin'>;
  log: {
    level: string;
    requests: boolean;
    /** Opt-in access log file; null: none. Sizes and intervals in rotating-file-stream's notation ("100M", "1d"). */
    accessFile: { path: string; maxSize: string; interval: string | null; keep: number } | null;
  };
  auth: { keys: readonly GatewayKey[] };
  tenants: Readonly<Record<string, TenantConfig>>;
  state: Section<'state'>;
  upstreams: readonly UpstreamConfig[];
  models: Readonly<Record<string, ModelConfig>>;
  retry: RetryConfig;
  degrade: Section<'degrade'>;
  adaptiveConcurrency: Section<'adaptive_concurrency'>;
  queue: Section<'queue'>;
  health: Section<'health'>;
  /** OpenTelemetry traces; `otlpEndpoint` null leaves tracing out entirely. */
  tracing: {
    otlpEndpoint: string | null;
    serviceName: string;
    sampleRatio: number;
    headers: Readonly<Record<string, string>>;
  };
  cache: CacheConfig;
  jobs: JobsConfig;
  /** Stored responses of the Responses door (src/api/responses/create-response-store.ts). */
  responses: { store: 'memory' | 'sqlite' | 'redis'; retentionMs: number; tenantMaxBytes: number };
  /** The validated config in its file form (snake_case, defaults applied), for `check-config` and the admin API. */
  raw: RawConfig;
}

export type JobsConfig = Section<'jobs'>;
