import { DURATION_OR_AUTO_PATTERN, DURATION_PATTERN } from './duration.ts';
import { RUN_WINDOW_PATTERN } from '../jobs/run/run-window.ts';
import { UPSTREAM_KINDS } from '../upstream/upstream-kind.ts';
import { UPSTREAM_APIS } from '../upstream/upstream-apis.ts';
import type { RawOf } from './schema-types.ts';

/**
 * The config's JSON Schema, and the one place each key is declared: its type, its default (applied by the
 * validator), `description` (what docs/configuration.md says about it, word for word: test/unit/docs.test.ts) and
 * `x-expected` (the plain-words expectation a config error quotes). The validated file's type, `RawConfig`, is
 * derived from it (schema-types.ts), so the helpers below keep their literal types (`as const`).
 */
const duration = (def: string, description: string) =>
  ({
    type: 'string',
    pattern: DURATION_PATTERN,
    default: def,
    description,
    'x-expected': 'a duration such as "250ms", "5s", "2m" or "1h"',
  }) as const;
/** A duration the gateway adapts by itself unless the config pins it. */
const durationOrAuto = (def: string, description: string) =>
  ({
    type: 'string',
    pattern: DURATION_OR_AUTO_PATTERN,
    default: def,
    description,
    'x-expected': '"auto" or a duration such as "250ms", "5s", "2m" or "1h"',
  }) as const;
/** A whole number; a null default makes null a value too (the setting is off until set). */
function int<const D extends number | null>(def: D, min: number, description: string, max?: number) {
  return {
    type: (def === null ? ['integer', 'null'] : 'integer') as D extends null ? readonly ['integer', 'null'] : 'integer',
    minimum: min,
    ...(max === undefined ? {} : { maximum: max }),
    default: def,
    description,
    'x-expected': `a whole number ≥ ${min}${max === undefined ? '' : ` and ≤ ${max}`}${def === null ? ' (or null)' : ''}`,
  };
}
/** Where a Redis is and the key prefix that lets deployments share it (the shared state's, the job store's). */
const redisTarget = (urlDescription: string) =>
  ({
    url: {
      type: 'string',
      pattern: '^rediss?://',
      description: urlDescription,
      'x-expected': 'a redis:// or rediss:// URL',
    },
    prefix: {
      type: 'string',
      default: '',
      description: 'Key prefix, to share one Redis between deployments.',
      'x-expected': 'a string',
    },
  }) as const;
/** A section: its keys and nothing else, each with its default when the section is absent. */
const obj = <const P extends Record<string, object>>(properties: P) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties,
    default: {},
  }) as const;
/** An optional feature block: null (the default) turns it off. */
const nullable = <const R extends readonly string[], const P extends Record<string, object>>(
  required: R,
  description: string,
  expected: string,
  properties: P,
) =>
  ({
    type: ['object', 'null'],
    additionalProperties: false,
    default: null,
    required,
    description,
    'x-expected': expected,
    properties,
  }) as const;

/** Requests and tokens per minute, wherever a rate limit applies (absent: no limit). */
const rateLimits = (what: string) =>
  ({
    requests_per_minute: {
      type: 'integer',
      minimum: 1,
      description: `Requests per minute ${what} (GCRA; absent: no limit).`,
      'x-expected': 'a whole number ≥ 1',
    },
    tokens_per_minute: {
      type: 'integer',
      minimum: 1,
      description: `Tokens per minute ${what}: estimated from the prompt and max_tokens, corrected from usage.`,
      'x-expected': 'a whole number ≥ 1',
    },
  }) as const;
/** A priority class; `def` is `{ default }` where the key has one. */
const priority = <const D extends object = Record<never, never>>(description: string, def?: D) =>
  ({
    enum: ['high', 'normal', 'low'],
    ...(def ?? ({} as D)),
    description,
    'x-expected': 'one of high, normal, low',
  }) as const;

/** The root: the file itself. It has no default (Ajv ignores one there); `upstreams` and `models` are required. */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    server: obj({
      host: {
        type: 'string',
        minLength: 1,
        default: '127.0.0.1',
        description: 'Address to listen on.',
        'x-expected': 'a host name or IP address',
      },
      port: int(8080, 0, 'TCP port to listen on (0 picks a free one).', 65535),
      body_limit_bytes: int(10 * 1024 * 1024, 1, 'Largest request body accepted (bytes); larger gets 413.'),
      default_deadline: duration(
        '10m',
        'Deadline of a request whose client sends neither `x-spillway-deadline-ms` nor `x-stainless-timeout`.',
      ),
      drain_grace: duration('30s', 'On SIGTERM, how long in-flight requests may finish before they are closed.'),
      body_timeout: duration(
        '30s',
        'Time allowed to receive a request body (for a `/v1/files` upload: the longest pause between two chunks); slower gets 408.',
      ),
      upload_timeout: duration(
        '10m',
        'Longest time a whole `/v1/files` upload may take, however steadily it trickles in; slower gets 408. Also bounds how long any request may take to arrive.',
      ),
      // A flood of connections must not exhaust file descriptors.
      max_connections: int(
        8192,
        1,
        'Client connections open at once; a connection beyond it is answered 503 `too_many_connections` as it arrives, and closed.',
      ),
      allowed_hosts: {
        type: 'array',
        items: {
          type: 'string',
          minLength: 1,
          pattern: '^[A-Za-z0-9_.:\\[\\]-]+$',
          'x-expected': 'a host name or address, without scheme or port',
        },
        default: [],
        description:
          'Host names clients reach the gateway by, besides loopback names and `server.host`. On a loopback listener, requests whose `Host` is another name are refused with 403 (DNS rebinding); when set, that check applies on every listener.',
        'x-expected': 'a list of host names',
      },
      allow_unauthenticated: {
        type: 'boolean',
        default: false,
        description:
          'On a non-loopback `server.host`, Spillway refuses to start without `auth.keys` and `admin.key`; true starts it anyway (an open gateway: anyone who reaches the port spends the upstream keys).',
        'x-expected': 'true or false',
      },
      sse_comments: {
        type: 'boolean',
        default: false,
        description:
          "Forward an upstream's SSE comments (`: keep-alive`) to streaming clients. Off, a stream's `200` goes out with its first content, so a failure before it is still a clean HTTP error with `Retry-After`; turn on behind a proxy that cuts silent streams sooner than the first token comes. The gateway's own `: queued` keep-alives (`queue.stream_keepalive`) are sent either way.",
        'x-expected': 'true or false',
      },
    }),
    admin: obj({
      key: {
        type: ['string', 'null'],
        minLength: 8,
        default: null,
        description:
          'Admin key. When set, `/admin/*` and `/dashboard` need `Authorization: Bearer <key>`; when null they are open, which Spillway allows only on a loopback `server.host` (see `server.allow_unauthenticated`).',
        'x-expected': 'null or a string of at least 8 characters (use ${ENV_VAR})',
      },
      request_log_size: int(
        500,
        0,
        'Finished requests kept in memory (newest first) for `GET /admin/requests` and the dashboard; 0 keeps none.',
        100_000,
      ),
    }),
    log: obj({
      level: {
        enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
        default: 'info',
        description: 'pino log level.',
        'x-expected': 'one of trace, debug, info, warn, error, fatal, silent',
      },
      requests: {
        type: 'boolean',
        default: true,
        description: 'Write one JSON log line per request.',
        'x-expected': 'true or false',
      },
      access_file: {
        type: ['string', 'null'],
        minLength: 1,
        default: null,
        description:
          'Opt-in access log: one JSON line per finished request appended to this file, rotated by size and time; null writes none.',
        'x-expected': 'null or a file path',
      },
      access_file_max_size: {
        type: 'string',
        pattern: '^[1-9][0-9]*[BKMG]$',
        default: '100M',
        description: 'Rotate the access log file when it reaches this size.',
        'x-expected': 'a size such as "500K", "100M" or "1G"',
      },
      access_file_interval: {
        type: ['string', 'null'],
        pattern: '^[1-9][0-9]*[smhdM]$',
        default: null,
        description:
          'Also rotate the access log file this often (s, m, h, d or M for months); null rotates by size only.',
        'x-expected': 'null or an interval such as "1h" or "1d"',
      },
      access_file_keep: int(
        10,
        1,
        'Rotated access log files kept (`file.1` … `file.N`); older ones are removed.',
        1000,
      ),
    }),
    auth: obj({
      keys: {
        type: 'array',
        default: [],
        description:
          'Gateway keys. When the list is not empty, every API request needs one of them as `Authorization: Bearer <key>`.',
        'x-expected': 'a list of { key | key_sha256, tenant }',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['tenant'],
          properties: {
            key: {
              type: 'string',
              minLength: 8,
              description: 'The key itself (use `${ENV}`), at least 8 characters.',
              'x-expected': 'a string of at least 8 characters',
            },
            key_sha256: {
              type: 'string',
              pattern: '^[0-9a-f]{64}$',
              description: 'Hex SHA-256 of the key, so the file holds no secret.',
              'x-expected': '64 lowercase hex characters',
            },
            tenant: {
              type: 'string',
              minLength: 1,
              description: 'Tenant the key belongs to (logs, metrics, limits): a name declared under `tenants`.',
              'x-expected': 'a tenant name',
            },
            models: {
              type: 'array',
              items: { type: 'string' },
              description: 'Public models the key may use; absent means all.',
              'x-expected': 'a list of public model names',
            },
            ...rateLimits('for this key'),
          },
        },
      },
    }),
    tenants: {
      type: 'object',
      default: {},
      description: 'Per-tenant scheduling and limits, by the tenant names of `auth.keys`.',
      'x-expected': 'a map of tenant name to { priority, max_priority, requests_per_minute, tokens_per_minute }',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          priority: priority('Priority class of requests that ask for none.', { default: 'normal' }),
          max_priority: priority(
            'Highest class its requests may ask for with `x-spillway-priority`; absent: `high` when `priority` is `high`, else `normal` (a client raises itself to `high` only when its tenant is given it).',
          ),
          ...rateLimits('for the whole tenant'),
        },
      },
    },
    state: obj({
      redis: {
        type: ['object', 'null'],
        additionalProperties: false,
        default: null,
        required: ['url'],
        description:
          'Share rate limits, account concurrency caps and account rests between instances through Redis (null: this instance alone).',
        'x-expected': 'null or { url, prefix, local_fraction }',
        properties: {
          ...redisTarget('Redis URL, e.g. `redis://127.0.0.1:6379`.'),
          local_fraction: {
            type: 'number',
            exclusiveMinimum: 0,
            maximum: 1,
            default: 1,
            description:
              'While Redis is unreachable, each limit and cap is scaled by this (about 1 / the number of instances).',
            'x-expected': 'a number in (0, 1]',
          },
        },
      },
    }),
    upstreams: {
      type: 'array',
      minItems: 1,
      description: 'The LLM APIs behind the gateway.',
      'x-expected': 'a list of upstreams, each with at least name and url',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'url'],
        properties: {
          name: {
            type: 'string',
            pattern: '^[A-Za-z0-9_.-]+$',
            description: 'Unique name (logs, metrics, routes).',
            'x-expected': 'letters, digits, "_", "." or "-"',
          },
          url: {
            type: 'string',
            pattern: '^https?://',
            description: 'Base URL as an OpenAI SDK takes it (`https://api.deepseek.com`, `http://host:8000/v1`).',
            'x-expected': 'an http:// or https:// URL',
          },
          api_key: {
            type: 'string',
            description: 'Sent as `Authorization: Bearer`; never shown in responses, logs or metrics.',
            'x-expected': 'a string (use ${ENV_VAR})',
          },
          kind: {
            enum: [...UPSTREAM_KINDS, null],
            default: null,
            description:
              'What answers at the URL; drives its quirks (DeepSeek `/beta` features, how a cut stream is continued). null: inferred from the URL, else from one `GET {url}/models` at startup, else `openai`.',
            'x-expected': `one of ${UPSTREAM_KINDS.join(', ')}, or null to infer it`,
          },
          api: {
            enum: [...UPSTREAM_APIS],
            default: 'auto',
            description:
              'The APIs it serves: `auto` (chat completions, plus the Anthropic Messages API when the kind is deepseek, which serves it under `/anthropic`, and the OpenAI Responses API when the kind is openai at api.openai.com), `openai` (chat completions only), `anthropic` (the Messages API only, at `{url}/v1/messages`), `both` (chat completions and Messages), `responses` (chat completions and the Responses API, at `{url}/responses`: a recent vLLM), `all` (the three). A Messages or Responses request is passed through, untranslated, to an upstream that serves its API, and translated to chat completions for any other; chat completions, completions, embeddings and Responses requests never go to an `anthropic` one.',
            'x-expected': `one of ${UPSTREAM_APIS.join(', ')}`,
          },
          keys: {
            type: 'array',
            minItems: 1,
            description:
              'Several accounts (API keys) on this upstream, instead of `api_key`: requests spread over them, a 429 rests one key (and sets its cap when the body names its concurrency limit), a 401/403 or a 402 (no balance) disables it.',
            'x-expected': 'a list of { key, name, max_concurrency }',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['key'],
              properties: {
                key: {
                  type: 'string',
                  minLength: 1,
                  description: 'The API key (use `${ENV}`).',
                  'x-expected': 'a string (use ${ENV_VAR})',
                },
                name: {
                  type: 'string',
                  pattern: '^[A-Za-z0-9_.-]+$',
                  description: 'Label in logs and metrics (default `key1`, `key2`, …); the key itself is never shown.',
                  'x-expected': 'letters, digits, "_", "." or "-"',
                },
                max_concurrency: int(
                  null,
                  1,
                  "This account's concurrency cap; null means the upstream's `max_concurrency`.",
                ),
                ...rateLimits('for this account'),
              },
            },
          },
          max_concurrency: int(
            256,
            1,
            "The account's concurrency cap: requests in flight to this upstream never exceed it.",
          ),
          weight: {
            type: 'number',
            exclusiveMinimum: 0,
            default: 1,
            description: 'Share of traffic relative to other routes of a model.',
            'x-expected': 'a number > 0',
          },
          connections: int(null, 1, 'HTTP connection cap of the pool; null means `max_concurrency`.'),
          ...rateLimits('for each account of this upstream (unless the key sets its own)'),
          engine_metrics: {
            type: ['object', 'string', 'null'],
            // Applies to the string form only: `auto` or `off`.
            pattern: '^(auto|off)$',
            additionalProperties: false,
            default: 'auto',
            description:
              "A self-hosted engine's Prometheus metrics (vLLM, SGLang): its queue depth and KV-cache use feed the balancer, and a queue there brings the upstream's learned limit down to what the engine runs. `auto`: read at the upstream origin + `/metrics` every 2 s while requests go to an upstream whose kind (set, or probed from `/v1/models`) is vllm or sglang, and no longer once three reads in a row fail (tried again 10 minutes later); `off` (or null): never read; `{ url, interval }`: always read, there. Unread, a vllm, sglang or ollama engine's answers tell what it runs instead (how long they waited in its queue).",
            'x-expected': 'auto, off, null or { url, interval }',
            properties: {
              url: {
                type: 'string',
                pattern: '^https?://',
                description: 'Metrics URL; default: the upstream origin + `/metrics`.',
                'x-expected': 'an http:// or https:// URL',
              },
              interval: duration('2s', 'How often the metrics are read.'),
            },
          },
          headers: {
            type: 'object',
            additionalProperties: { type: 'string' },
            default: {},
            description: 'Extra headers sent to this upstream.',
            'x-expected': 'a map of header name to string',
          },
          timeouts: obj({
            connect: duration('5s', 'TCP/TLS connect timeout.'),
            // `auto`'s floors and ceilings: upstream/adaptive-timeouts.ts.
            first_token: durationOrAuto(
              'auto',
              'Until the first real token; keep-alive comments and blank lines do not count. `auto`: a high percentile of what this upstream and model showed, times 3 (times the prompt size over the sizes learned on, for a longer prompt), and at most half the time left before the deadline when a retry could follow (see recovery.md); past it, a request found waiting its turn in the queue of a self-hosted engine (no keep-alive, the upstream alive, nobody sent after it started first) waits on within that bound. A duration pins it, and a pinned value cuts at once, queue or not.',
            ),
            idle: durationOrAuto(
              'auto',
              'Longest silence between chunks once the answer has started. `auto`: learned like `first_token` from the longest gaps between chunks; a silence the whole upstream shares while it reads a prompt sent as it fell quiet, or shared and ended, is not counted (see recovery.md). A duration pins it, with neither exception.',
            ),
            total: duration('10m', 'Longest a single upstream attempt may take.'),
          }),
        },
      },
    },
    models: {
      type: 'object',
      minProperties: 1,
      description: 'Public model names clients ask for, each mapped to routes.',
      'x-expected': 'a map of public model name to { routes }',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['routes'],
        properties: {
          routes: {
            type: 'array',
            minItems: 1,
            description: 'Upstream + upstream model pairs that can serve the model.',
            'x-expected': 'a non-empty list of { upstream, model, weight }',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['upstream'],
              properties: {
                upstream: {
                  type: 'string',
                  description: 'Name of an upstream.',
                  'x-expected': 'the name of an upstream',
                },
                model: {
                  type: 'string',
                  minLength: 1,
                  description: 'Model name sent to the upstream; defaults to the public name.',
                  'x-expected': 'a model name',
                },
                weight: {
                  type: 'number',
                  exclusiveMinimum: 0,
                  default: 1,
                  description: 'Multiplies the upstream weight for this route.',
                  'x-expected': 'a number > 0',
                },
                params: {
                  type: 'object',
                  default: {},
                  description:
                    'Top-level request fields sent on this route when the client did not set them (e.g. `thinking: { type: disabled }` for an alias of a thinking model).',
                  'x-expected': 'a map of request field to value',
                },
              },
            },
          },
          continuation: {
            enum: ['auto', 'off', 'prefix', 'continue_final_message', 'prompt'],
            default: 'auto',
            description:
              'Mid-stream recovery: how a stream cut after its first token is continued (`auto`: by the kind of upstream that wrote it — `prefix` on deepseek, `continue_final_message` on vllm/sglang, off elsewhere; `prefix`: DeepSeek chat prefix completion, `continue_final_message`: vLLM/SGLang, `prompt`: any server); a passed-through Messages stream is continued by a prefill on a Messages upstream (`auto`: deepseek only; any other mode: every Messages upstream); `off` ends it with an in-band error.',
            'x-expected': 'one of auto, off, prefix, continue_final_message, prompt',
          },
          hedge: {
            type: ['object', 'null'],
            additionalProperties: false,
            default: {},
            description:
              'TTFT hedging, on by default wherever the model has routes on two or more upstreams (null turns it off): a request without a first token after the delay is also sent to another upstream, inside the retry budget and only on a slot nobody waits for; the first to answer wins.',
            'x-expected': 'null or { percentile, min_delay, max_delay }',
            properties: {
              percentile: int(95, 1, "The delay is this percentile of the model's recent times to first token...", 99),
              min_delay: duration('250ms', '...but at least this...'),
              max_delay: duration('10s', '...and at most this (also the delay until 20 samples are known).'),
            },
          },
          ...rateLimits('for this model'),
          degrade_to: {
            type: ['string', 'null'],
            default: null,
            description: 'While degraded, low-priority requests for this model go to this cheaper public model.',
            'x-expected': 'a public model name, or null',
          },
          fallback: {
            type: 'array',
            items: { type: 'string' },
            default: [],
            description:
              'Other public models tried, in order, when no route of this one can serve (the response says which served it).',
            'x-expected': 'a list of public model names',
          },
        },
      },
    },
    queue: obj({
      enabled: {
        type: 'boolean',
        default: true,
        description:
          'Wait for a free upstream slot (by priority, tenant fairness and deadline) instead of failing when every route is at its cap.',
        'x-expected': 'true or false',
      },
      max_size: int(
        5000,
        1,
        'Requests waiting at once; beyond it a newcomer is refused with 503 queue_full, unless it outranks a waiting one.',
      ),
      max_wait: duration('30s', 'Longest wait for a slot, whatever the client deadline.'),
      stream_keepalive: duration(
        '10s',
        'A waiting stream gets an SSE comment this often, so proxies do not time it out ("0s": never).',
      ),
      recheck_margin: {
        type: 'number',
        minimum: 1,
        maximum: 10,
        default: 1.25,
        description:
          'A waiting request is dropped before its deadline (the drain rate fell) only when the time it needs where it stands is longer than the time it has left by this factor.',
        'x-expected': 'a number from 1 to 10',
      },
    }),
    degrade: obj({
      queue_depth: int(null, 1, 'Degrade while at least this many requests wait for a slot (null: not this trigger).'),
      shed_percent: int(
        null,
        1,
        'Degrade while more than this share (%) of recent requests were refused (null: not this trigger).',
        100,
      ),
      window: duration('10s', 'Window of the shed-rate trigger.'),
      max_tokens: int(null, 1, 'While degraded, `max_tokens` is capped at this (null: not capped).'),
    }),
    adaptive_concurrency: obj({
      enabled: {
        type: 'boolean',
        default: true,
        description:
          "Learn each upstream's real concurrency limit below `max_concurrency` (AIMD on 503, 429 and timeouts).",
        'x-expected': 'true or false',
      },
      decrease_factor: {
        type: 'number',
        exclusiveMinimum: 0,
        exclusiveMaximum: 1,
        default: 0.8,
        description: 'An overload multiplies the limit by this.',
        'x-expected': 'a number between 0 and 1',
      },
      min_limit: int(1, 1, 'The learned limit never goes below this.'),
      decrease_interval: duration('1s', 'Failures within this long of a decrease count as the same overload.'),
    }),
    retry: obj({
      max_attempts: int(5, 1, 'Attempts per request, the first included; 1 turns retries off.', 10),
      backoff_base: duration('50ms', 'Full-jitter backoff: the first retry waits up to this long, doubling each time.'),
      backoff_cap: duration(
        '20s',
        'Longest backoff before one retry (an upstream Retry-After may ask for longer, never past the deadline).',
      ),
      budget_ratio: {
        type: 'number',
        minimum: 0,
        maximum: 10,
        default: 0.2,
        description:
          'Retry budget: retries may be at most this share of first attempts over the window, per upstream and overall.',
        'x-expected': 'a number from 0 to 10',
      },
      // So a quiet gateway, with few first attempts, can still retry, and the end of a burst (arrivals gone, retries
      // of its last requests still due) is not refused by the ratio alone (docs/recovery.md#retry-budget).
      budget_min_per_second: {
        type: 'number',
        minimum: 0,
        default: 3,
        description: 'Retries per second always allowed on top of the ratio.',
        'x-expected': 'a number ≥ 0',
      },
      budget_window: duration('10s', 'Sliding window of the retry budget.'),
      cooldown_default: duration('1s', 'How long an upstream account rests after a 429 that carries no Retry-After.'),
    }),
    health: obj({
      failure_threshold: int(5, 1, 'Consecutive failures that take an upstream out of rotation.'),
      failure_rate_percent: int(
        50,
        1,
        'Also out of rotation when at least this share of its recent attempts failed (%)...',
        100,
      ),
      failure_rate_min_requests: int(20, 1, '...counted once it has had this many attempts in the window.'),
      failure_rate_window: duration('30s', 'Window of the failure-rate trigger.'),
      ejection_base: duration('1s', 'First time out; doubles with each further ejection (each failed probe).'),
      ejection_max: duration('1m', 'Cap on the time out; this long healthy forgives earlier ejections.'),
      max_ejected_percent: int(
        50,
        0,
        'Most of the upstreams that may be out of rotation at once (%); one may always be.',
        100,
      ),
    }),
    tracing: obj({
      otlp_endpoint: {
        type: ['string', 'null'],
        default: null,
        description:
          'OpenTelemetry traces go to this OTLP/HTTP (JSON) endpoint, e.g. `http://otel-collector:4318/v1/traces` (a URL with no path gets `/v1/traces`). null or empty (`${OTEL_ENDPOINT:-}`): tracing off, no tracing code is loaded.',
        'x-expected': 'null, empty, or an http(s) URL',
      },
      service_name: {
        type: 'string',
        minLength: 1,
        default: 'spillway',
        description: 'The `service.name` resource attribute of every span.',
        'x-expected': 'a non-empty string',
      },
      sample_ratio: {
        type: 'number',
        minimum: 0,
        maximum: 1,
        default: 1,
        description:
          "Share of new traces recorded; a request whose client sent a `traceparent` follows the client's sampling decision.",
        'x-expected': 'a number from 0 to 1',
      },
      headers: {
        type: 'object',
        additionalProperties: { type: 'string' },
        default: {},
        description: 'Headers sent with every export, such as a collector token (use `${ENV_VAR}`).',
        'x-expected': 'a map of header name to string',
      },
    }),
    cache: obj({
      models: {
        type: 'array',
        items: { type: 'string' },
        default: [],
        description:
          'Public models whose answers are cached and whose identical concurrent requests are coalesced; empty leaves the cache out of the request path.',
        'x-expected': 'a list of public model names',
      },
      requests: {
        enum: ['all', 'opted_in'],
        default: 'all',
        description: 'Which requests of those models take part: `all`, or only those sending `x-spillway-cache: on`.',
        'x-expected': 'one of all, opted_in',
      },
      sampled: {
        type: 'boolean',
        default: false,
        description:
          'Also cache and coalesce sampled requests (`temperature` > 0, or absent, and no `seed`), whose answers would differ if asked twice.',
        'x-expected': 'true or false',
      },
      coalesce: {
        type: 'boolean',
        default: true,
        description: 'Identical requests in flight at once share one upstream call (streams fan out chunk by chunk).',
        'x-expected': 'true or false',
      },
      ttl: duration('10m', 'How long a stored answer is served as fresh...'),
      ttl_jitter_percent: int(
        10,
        0,
        '...plus or minus this share (%), so entries stored together do not expire together.',
        100,
      ),
      stale_for: duration(
        '0s',
        'How long past its TTL an entry is kept to be served stale (`x-spillway-cache: stale`); "0s": never.',
      ),
      stale_on_error: {
        type: 'boolean',
        default: true,
        description: 'Serve a stale entry when every upstream attempt failed (within `stale_for`).',
        'x-expected': 'true or false',
      },
      stale_when_degraded: {
        type: 'boolean',
        default: true,
        description: 'While degrade mode is on, serve a stale entry without asking an upstream (within `stale_for`).',
        'x-expected': 'true or false',
      },
      memory_max_bytes: int(
        64 * 1024 * 1024,
        1,
        "Bytes of answers kept in this instance's memory (L1, least recently used evicted first).",
      ),
      max_entry_bytes: int(1024 * 1024, 1, 'Larger answers are served but not stored.'),
      tenant_groups: {
        type: 'object',
        default: {},
        description:
          "Tenants that share cached answers: group name → tenants. Every other tenant has its own namespace and never sees another's answers.",
        'x-expected': 'a map of group name to a list of tenant names',
        additionalProperties: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
      },
      redis: nullable(
        ['url'],
        'Second cache level (L2) in Redis, shared by every instance (null: memory only).',
        'null or { url, prefix, timeout }',
        {
          ...redisTarget('Redis URL; may be the same Redis as `state.redis`.'),
          timeout: duration(
            '200ms',
            'A Redis command slower than this is given up on; the request goes on without L2.',
          ),
        },
      ),
      semantic: nullable(
        ['upstream', 'model'],
        'Semantic cache (null: off): a miss is answered with the stored answer of the most similar earlier prompt, by embeddings.',
        'null or { upstream, model, threshold, max_entries }',
        {
          upstream: {
            type: 'string',
            description: 'Upstream whose `/embeddings` endpoint embeds prompts.',
            'x-expected': 'the name of an upstream',
          },
          model: {
            type: 'string',
            minLength: 1,
            description: 'Embedding model sent to that upstream.',
            'x-expected': 'a model name',
          },
          threshold: {
            type: 'number',
            minimum: 0,
            maximum: 1,
            default: 0.95,
            description: 'Least cosine similarity that counts as the same question.',
            'x-expected': 'a number from 0 to 1',
          },
          max_entries: int(
            10_000,
            1,
            'Prompt vectors remembered for the semantic lookup: in memory, per instance (oldest forgotten first); with `cache.redis`, per partition in Redis.',
          ),
        },
      ),
    }),
    jobs: obj({
      enabled: {
        type: 'boolean',
        default: false,
        description:
          'Serve async requests (`Prefer: respond-async`) and the Batch API (`/v1/files`, `/v1/batches`), run on spare capacity. Off: neither is served and nothing is written to disk.',
        'x-expected': 'true or false',
      },
      store: {
        enum: ['sqlite', 'redis'],
        default: 'sqlite',
        description:
          'Where jobs are kept: `sqlite` (embedded, one instance) or `redis` (`state.redis`, shared by every instance).',
        'x-expected': 'sqlite or redis',
      },
      data_dir: {
        type: 'string',
        minLength: 1,
        default: './spillway-data',
        description: 'Directory for the SQLite file, uploaded and output files and large results.',
        'x-expected': 'a directory path',
      },
      max_items: int(
        1_000_000,
        1,
        'Items stored at once (finished ones count until retention removes them); beyond it submissions get 507 `job_storage_full`.',
      ),
      // OpenAI's limits, so a batch that OpenAI takes is taken here too.
      max_file_bytes: int(200 * 1024 * 1024, 1, 'Largest uploaded batch input file (bytes).'),
      max_batch_items: int(
        50_000,
        1,
        'Most lines in one batch input file (each line at most `server.body_limit_bytes`, the largest request it can run as).',
      ),
      tenant_max_files: int(
        100,
        1,
        'Files one tenant may hold at once (uploads and batch output files, until deleted or removed by retention); beyond it an upload gets 507 `upload_quota_exceeded`.',
      ),
      tenant_max_stored_bytes: int(
        2 * 1024 * 1024 * 1024,
        1,
        'Bytes of files one tenant may hold at once (uploads in progress included): what one key can put on this disk; beyond it 507 `upload_quota_exceeded`.',
      ),
      // A batch's window is 24h: two days more to fetch its results.
      retention: duration('72h', 'Finished jobs, their results and files are deleted this long after they finish.'),
      inline_result_max_bytes: int(
        64 * 1024,
        0,
        'Answers larger than this (bytes) go to a file under `data_dir`, not into the database.',
      ),
      concurrency: int(
        64,
        1,
        'Job items this instance runs at once at most (AIMD keeps it lower while upstreams push back).',
      ),
      tenant_concurrency: int(
        null,
        1,
        'Job items one tenant may run at once on this instance (null: only `concurrency`).',
      ),
      spare_percent: int(
        70,
        1,
        "Items start only while everything in flight (interactive included) stays under this share (%) of the upstreams' capacity and nothing interactive waits.",
        100,
      ),
      headroom_window: duration(
        '10s',
        'Interactive load counts as its peak over this window, so job items (which hold a slot for a whole answer) leave room for the next burst ("0s": the current load only).',
      ),
      max_event_loop_lag: duration(
        '20ms',
        "Items start only while the gateway's event loop runs less late than this (p90 over a second): the gateway's own CPU is capacity interactive requests need too.",
      ),
      max_attempts: int(
        5,
        1,
        'Runs of an item (upstream failures) before it goes to the dead-letter list; pushback (no spare room) does not count.',
      ),
      backoff_base: duration(
        '1s',
        'Full-jitter backoff between runs of an item: the first waits up to this, doubling each time...',
      ),
      backoff_cap: duration('5m', '...up to this.'),
      lease: duration(
        '30s',
        "A running item is leased for this long and renewed while it runs: a crashed instance's items run again after it.",
      ),
      item_timeout: duration('10m', 'Deadline of one run of an item.'),
      run_windows: {
        type: 'array',
        items: { type: 'string', pattern: RUN_WINDOW_PATTERN, 'x-expected': 'a time range "HH:MM-HH:MM" (UTC)' },
        default: [],
        description:
          'Daily UTC windows in which items may start, e.g. ["16:30-00:30"] (a provider\'s off-peak hours); empty: always.',
        'x-expected': 'a list of "HH:MM-HH:MM" (UTC)',
      },
      prefix_chars: int(
        2048,
        0,
        "Items whose first this many prompt characters agree run close together, so the upstream's context cache hits.",
      ),
      poll_interval: duration(
        '500ms',
        'How often an idle runner looks for work queued by another instance (its own submissions wake it at once).',
      ),
      webhook: obj({
        secret: {
          type: ['string', 'null'],
          minLength: 16,
          default: null,
          description: 'HMAC-SHA256 key of webhook signatures (`x-spillway-signature`); null sends webhooks unsigned.',
          'x-expected': 'null or a string of at least 16 characters (use ${ENV_VAR})',
        },
        timeout: duration('10s', 'Time allowed for one webhook delivery.'),
        max_attempts: int(5, 1, 'Deliveries tried (with backoff) before a webhook is given up.'),
        allowed_hosts: {
          type: 'array',
          items: {
            type: 'string',
            pattern: '^(\\*\\.)?[A-Za-z0-9_.-]+$|^\\[?[0-9A-Fa-f:.]+\\]?$',
            'x-expected': 'a host name (no scheme, no port) such as "hooks.example.com" or "*.example.com"',
          },
          default: [],
          description:
            'Hosts `x-spillway-webhook-url` may name: `hooks.example.com`, or `*.example.com` for its subdomains. Empty: webhooks are refused (400 `webhook_not_allowed`). Redirects are never followed.',
          'x-expected': 'a list of host names',
        },
        allow_private: {
          type: 'boolean',
          default: false,
          description:
            'Also deliver webhooks to loopback, private, link-local and other non-public addresses (checked after DNS resolution, on the address connected to). Off: only public addresses, so a client cannot aim Spillway at its own network or cloud metadata.',
          'x-expected': 'true or false',
        },
      }),
    }),
    responses: obj({
      // auto: where every instance finds them when instances share a Redis, else on this machine's disk.
      store: {
        enum: ['auto', 'memory', 'sqlite', 'redis'],
        default: 'auto',
        description:
          'Where the Responses door keeps stored responses (`store`, `previous_response_id`, `GET /v1/responses/{id}`): `auto` is `redis` when `state.redis` is set, else `sqlite`; `sqlite`: a file `responses.sqlite` under `jobs.data_dir` (survives a restart); `redis`: `state.redis`, shared by every instance; `memory`: this process only, lost on restart.',
        'x-expected': 'auto, memory, sqlite or redis',
      },
      // OpenAI keeps stored responses 30 days.
      retention: duration(
        '720h',
        'How long a stored response is kept after it was answered (OpenAI keeps them 30 days); then `GET` and `previous_response_id` answer 404 `response_not_found`.',
      ),
      tenant_max_bytes: int(
        256 * 1024 * 1024,
        1024,
        "Bytes of stored responses (each with its whole conversation) one tenant holds at once; a new one pushes out that tenant's oldest. What one key can put on disk, whatever the retention.",
      ),
    }),
  },
  required: ['upstreams', 'models'],
} as const;

/** The config file as validated: every default filled in, snake_case as written. */
export type RawConfig = RawOf<typeof configSchema>;
