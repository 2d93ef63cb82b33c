import { UPSTREAM_KINDS } from '../upstream/upstream-kind.ts';
import { MOCK_PROFILES } from './profiles.ts';

/**
 * The fleet file's JSON schema (ajv) and its snake_case → MockOptions names. Keys are snake_case like the
 * gateway's own config; every key maps to one MockOption of the same meaning (see docs/mock.md). `x-expected` is
 * what an error message says was expected.
 */
type S = Record<string, unknown>;

const whole = (expected: string, minimum = 0): S => ({ type: 'integer', minimum, 'x-expected': expected });
const ms = whole('a whole number of milliseconds (0 or more)');
const count = whole('a whole number (0 or more)');
const positive = whole('a whole number (1 or more)', 1);
const probability: S = { type: 'number', minimum: 0, maximum: 1, 'x-expected': 'a probability from 0 to 1' };
const text = (expected: string): S => ({ type: 'string', minLength: 1, 'x-expected': expected });

/** snake_case key → [MockOptions key, schema]. */
export const UPSTREAM_KEYS: Record<string, [string, S]> = {
  name: ['name', { ...text('a name of letters, digits, ".", "_" or "-"'), pattern: '^[A-Za-z0-9._-]+$' }],
  profile: [
    'profile',
    { enum: Object.keys(MOCK_PROFILES), 'x-expected': `one of ${Object.keys(MOCK_PROFILES).join(', ')}` },
  ],
  host: ['host', text('a listen address such as 127.0.0.1')],
  port: [
    'port',
    { type: 'integer', minimum: 0, maximum: 65535, 'x-expected': 'a port from 0 to 65535 (0 picks a free one)' },
  ],
  seed: ['seed', { type: 'integer', 'x-expected': 'a whole number' }],
  fault_seed: ['faultSeed', { type: 'integer', 'x-expected': 'a whole number' }],
  ttft_ms: ['ttftMs', ms],
  ttft_per_in_flight_ms: ['ttftPerInFlightMs', ms],
  ttft_per_1k_prompt_tokens_ms: ['ttftPer1kPromptTokensMs', ms],
  token_ms: ['tokenMs', ms],
  jitter_pct: ['jitterPct', { type: 'number', minimum: 0, maximum: 100, 'x-expected': 'a percentage from 0 to 100' }],
  slots: ['slots', count],
  queue_size: ['queueSize', count],
  queue_timeout_ms: ['queueTimeoutMs', ms],
  reject: ['reject', { enum: [429, 503, 529], 'x-expected': '429, 503 or 529' }],
  retry_after_s: ['retryAfterS', whole('a whole number of seconds (0 or more)')],
  keep_alive_ms: ['keepAliveMs', ms],
  default_max_tokens: ['defaultMaxTokens', positive],
  model: ['model', text('a model name')],
  api_keys: ['apiKeys', { type: 'array', items: text('a non-empty key'), 'x-expected': 'a list of keys' }],
  per_key_concurrency: ['perKeyConcurrency', count],
  states_concurrency_limit: ['statesConcurrencyLimit', { type: 'boolean', 'x-expected': 'true or false' }],
  unpaid_keys: ['unpaidKeys', { type: 'array', items: text('a non-empty key'), 'x-expected': 'a list of keys' }],
  rpm: ['rpm', positive],
  per_key_rpm: ['perKeyRpm', positive],
  fail_every: ['failEvery', positive],
  continue_after_abort: ['continueAfterAbort', { type: 'boolean', 'x-expected': 'true or false' }],
  faults: ['faults', { type: 'object', 'x-expected': 'a map of fault rates' }],
  outages: ['outages', { type: 'array', 'x-expected': 'a list of outage windows' }],
  kind: ['kind', { enum: [...UPSTREAM_KINDS], 'x-expected': `one of ${UPSTREAM_KINDS.join(', ')}` }],
  api: ['api', { enum: ['openai', 'anthropic', 'both'], 'x-expected': 'openai, anthropic or both' }],
  responses: ['responses', { type: 'boolean', 'x-expected': 'true or false' }],
};

export const FAULT_KEYS: Record<string, [string, S]> = {
  error_500: ['error500', probability],
  reset_before_headers: ['resetBeforeHeaders', probability],
  reset_mid_stream: ['resetMidStream', probability],
  stall: ['stall', probability],
  slow_tokens: ['slowTokens', probability],
  slow_token_ms: ['slowTokenMs', ms],
  error_429: ['error429', probability],
  error_503: ['error503', probability],
  stall_before_first_token: ['stallBeforeFirstToken', probability],
  stall_mid_stream: ['stallMidStream', probability],
  blank_200: ['blank200', probability],
  keep_alive_forever: ['keepAliveForever', probability],
  truncated_body: ['truncatedBody', probability],
  wrong_content_type: ['wrongContentType', probability],
};

export const OUTAGE_KEYS: Record<string, [string, S]> = {
  start_ms: ['startMs', ms],
  end_ms: ['endMs', ms],
  mode: ['mode', { enum: ['refuse', 'hang'], 'x-expected': '"refuse" or "hang"' }],
};

const objectOf = (keys: Record<string, [string, S]>, required: string[], expected: string): S => ({
  type: 'object',
  'x-expected': expected,
  additionalProperties: false,
  required,
  properties: Object.fromEntries(Object.entries(keys).map(([k, [, s]]) => [k, s])),
});

const upstream = objectOf(UPSTREAM_KEYS, ['name'], 'a map describing one upstream');
(upstream.properties as Record<string, S>).faults = objectOf(FAULT_KEYS, [], 'a map of fault rates');
(upstream.properties as Record<string, S>).outages = {
  type: 'array',
  'x-expected': 'a list of outage windows',
  items: objectOf(OUTAGE_KEYS, ['start_ms', 'end_ms', 'mode'], 'a map with start_ms, end_ms and mode'),
};

export const fleetSchema: S = {
  type: 'object',
  'x-expected': 'a map with an upstreams list',
  additionalProperties: false,
  required: ['upstreams'],
  properties: {
    upstreams: { type: 'array', minItems: 1, items: upstream, 'x-expected': 'a list of at least one upstream' },
  },
};
