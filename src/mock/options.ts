import { UPSTREAM_KINDS, type UpstreamKind } from '../upstream/upstream-kind.ts';
import { outageProblems, type Outage } from './outages.ts';
import { faultRateProblems, type FaultRates } from './random-faults.ts';

export type { FaultRates } from './random-faults.ts';

/**
 * How a simulated upstream behaves. Defaults describe an infinitely fast, never-busy server (the benchmark
 * baseline); each knob adds one behaviour seen on real LLM APIs (DeepSeek, OpenAI, vLLM) under load.
 */
export interface MockOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Part of the deterministic answer. Default 1. */
  seed?: number;
  /**
   * Seeds the fault draws and the jitter. Default: `seed`. A fleet gives each upstream its own (independent servers
   * fail independently; with one seed, a retry on another upstream would meet the very fault its first try met).
   */
  faultSeed?: number;
  /** Time before the first token. Default 0. */
  ttftMs?: number;
  /** Time between tokens. Default 0: the whole answer is written at once, with no timers. */
  tokenMs?: number;
  /** TTFT grows by this per other request holding a slot when the request starts (a fuller batch). Default 0. */
  ttftPerInFlightMs?: number;
  /** TTFT grows by this per 1 000 prompt tokens (the prefill of a long prompt). Default 0. */
  ttftPer1kPromptTokensMs?: number;
  /** Every delay varies uniformly within ±this percent, drawn from the seeded generator. 0-100, default 0. */
  jitterPct?: number;
  /** Requests served concurrently. Default Infinity; 0 makes every request wait or be refused. */
  slots?: number;
  /** Requests allowed to wait for a slot. Default 0. */
  queueSize?: number;
  /** A waiting request gives up after this and is refused like `reject`. Default 30000. */
  queueTimeoutMs?: number;
  /** Status when slots and queue are full. Default 503; 529 is the Anthropic Messages API's "overloaded". */
  reject?: 429 | 503 | 529;
  /** `Retry-After` seconds sent with refusals. Default 1. */
  retryAfterS?: number;
  /**
   * While a request waits in the queue, DeepSeek-style keep-alives are sent every this many ms: 200 headers, then
   * "\n" lines (non-stream) or ": keep-alive" SSE comments (stream). 0 disables them. Default 1000.
   */
  keepAliveMs?: number;
  /** Answer length when the request has no max_tokens. Default 16. */
  defaultMaxTokens?: number;
  /** Echoed when the request names no model; listed by /v1/models. Default "mock-model". */
  model?: string;
  /** When set, requests need `Authorization: Bearer <one of these>`, else 401 invalid_api_key. */
  apiKeys?: string[];
  /** When set, a key with this many requests in flight gets 429 "concurrency limit exceeded". */
  perKeyConcurrency?: number;
  /**
   * The per-key concurrency 429 names the limit in its body, in DeepSeek's words ("Request concurrency exceeds your
   * concurrency limit of N based on your remaining balance"). Default false: a bare "concurrency limit exceeded".
   */
  statesConcurrencyLimit?: boolean;
  /** Keys whose account is out of funds: answered 402 "Insufficient Balance", as DeepSeek does. Default none. */
  unpaidKeys?: string[];
  /** Requests admitted per sliding minute, all keys together; the rest get 429 with the exact Retry-After. */
  rpm?: number;
  /** Requests admitted per sliding minute per API key (requests without a key share "(none)"). */
  perKeyRpm?: number;
  /** Probabilities of faults drawn per generation request from the seeded generator. Default: none. */
  faults?: FaultRates;
  /**
   * When the client goes away mid-answer, keep generating to the end (as many real servers do: the slot stays
   * busy) and count it in `completedAfterClientGone`. Default false: stop at once.
   */
  continueAfterAbort?: boolean;
  /** Windows, relative to start, in which the server refuses connections or hangs. Default none. */
  outages?: Outage[];
  /**
   * Every Nth generation request gets an injected fault, alternating a 500 and a connection reset after two
   * tokens (the `flaky` profile). Default: never.
   */
  failEvery?: number;
  /**
   * Count answers started per prompt text in `generatedByPrompt` (tests that prove no job item was generated more
   * than twice). Default false: the map grows with every distinct prompt.
   */
  countPrompts?: boolean;
  /** Label for logs, stats and the `x-mock-name` response header. */
  name?: string;
  /**
   * Behave as this server does where servers differ (mock/continuation.ts): `deepseek` serves prefix completion and
   * FIM only under `/beta` and refuses a tool loop without `reasoning_content`; each kind understands only its own
   * continuation form and names itself in `GET /v1/models`. Default: none (every form understood, no `/beta`).
   */
  kind?: UpstreamKind;
  /**
   * The APIs served: `openai` (chat completions, completions, embeddings, models), `anthropic` (the Messages API
   * only: `POST /v1/messages`, also under `/anthropic`, mock/messages.ts), `both`. Default: `both` on a `deepseek`
   * simulator (DeepSeek serves Messages under `/anthropic`), else `openai`.
   */
  api?: MockApi;
  /**
   * Serve OpenAI's Responses API too (`POST /v1/responses`, mock/responses.ts), beside chat completions, as OpenAI's
   * own API and recent vLLM versions do. Default false (most OpenAI-compatible servers do not).
   */
  responses?: boolean;
}

export type MockApi = 'openai' | 'anthropic' | 'both';

type Unset =
  | 'apiKeys'
  | 'unpaidKeys'
  | 'perKeyConcurrency'
  | 'failEvery'
  | 'name'
  | 'rpm'
  | 'perKeyRpm'
  | 'faults'
  | 'kind'
  | 'faultSeed';
export type ResolvedOptions = Required<Omit<MockOptions, Unset>> & {
  apiKeys: ReadonlySet<string> | undefined;
  unpaidKeys: ReadonlySet<string> | undefined;
  perKeyConcurrency: number | undefined;
  failEvery: number | undefined;
  name: string | undefined;
  rpm: number | undefined;
  perKeyRpm: number | undefined;
  /** Undefined when no rate is above 0, so the hot path skips the draw entirely. */
  faults: FaultRates | undefined;
  kind: UpstreamKind | undefined;
  faultSeed: number;
};

export const MOCK_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  seed: 1,
  ttftMs: 0,
  tokenMs: 0,
  ttftPerInFlightMs: 0,
  ttftPer1kPromptTokensMs: 0,
  jitterPct: 0,
  continueAfterAbort: false,
  statesConcurrencyLimit: false,
  countPrompts: false,
  responses: false,
  outages: [],
  slots: Infinity,
  queueSize: 0,
  queueTimeoutMs: 30_000,
  reject: 503,
  retryAfterS: 1,
  keepAliveMs: 1000,
  defaultMaxTokens: 16,
  model: 'mock-model',
} as const satisfies Partial<MockOptions>;

/** Applies defaults and rejects nonsense at start-up (a typo in a test should fail loudly, not simulate oddly). */
export function resolveOptions(opts: MockOptions = {}): ResolvedOptions {
  const o = { ...MOCK_DEFAULTS, ...dropUndefined(opts) };
  const problems: string[] = [];
  const count = (key: keyof MockOptions, v: number, allowInfinity = false): void => {
    if (!(allowInfinity && v === Infinity) && !(Number.isInteger(v) && v >= 0)) {
      problems.push(`${key}=${String(v)} is not a non-negative integer`);
    }
  };
  count('port', o.port);
  if (o.port > 65535) problems.push(`port=${o.port} is above 65535`);
  count('ttftMs', o.ttftMs);
  count('tokenMs', o.tokenMs);
  count('ttftPerInFlightMs', o.ttftPerInFlightMs);
  count('ttftPer1kPromptTokensMs', o.ttftPer1kPromptTokensMs);
  if (!(typeof o.jitterPct === 'number' && o.jitterPct >= 0 && o.jitterPct <= 100)) {
    problems.push(`jitterPct=${String(o.jitterPct)} is not a percentage from 0 to 100`);
  }
  if (typeof o.continueAfterAbort !== 'boolean')
    problems.push(`continueAfterAbort=${String(o.continueAfterAbort)} is not true or false`);
  if (typeof o.responses !== 'boolean') problems.push(`responses=${String(o.responses)} is not true or false`);
  if (typeof o.statesConcurrencyLimit !== 'boolean')
    problems.push(`statesConcurrencyLimit=${String(o.statesConcurrencyLimit)} is not true or false`);
  for (const key of ['rpm', 'perKeyRpm'] as const) {
    const v = opts[key];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1))
      problems.push(`${key}=${String(v)} is not a positive integer`);
  }
  if (opts.faults !== undefined) problems.push(...faultRateProblems(opts.faults));
  if (!Array.isArray(o.outages)) problems.push('outages must be a list');
  else problems.push(...outageProblems(o.outages));
  count('slots', o.slots, true);
  count('queueSize', o.queueSize, true);
  count('queueTimeoutMs', o.queueTimeoutMs);
  count('retryAfterS', o.retryAfterS);
  count('keepAliveMs', o.keepAliveMs);
  count('defaultMaxTokens', o.defaultMaxTokens);
  if (o.defaultMaxTokens < 1) problems.push('defaultMaxTokens must be at least 1');
  if (!Number.isInteger(o.seed)) problems.push(`seed=${String(o.seed)} is not an integer`);
  if (opts.faultSeed !== undefined && !Number.isInteger(opts.faultSeed))
    problems.push(`faultSeed=${String(opts.faultSeed)} is not an integer`);
  if (o.reject !== 429 && o.reject !== 503 && o.reject !== 529)
    problems.push(`reject=${String(o.reject)} is not 429, 503 or 529`);
  if (opts.api !== undefined && !['openai', 'anthropic', 'both'].includes(opts.api))
    problems.push(`api=${String(opts.api)} is not openai, anthropic or both`);
  if (opts.perKeyConcurrency !== undefined) count('perKeyConcurrency', opts.perKeyConcurrency);
  if (opts.kind !== undefined && !(UPSTREAM_KINDS as readonly string[]).includes(opts.kind))
    problems.push(`kind=${String(opts.kind)} is not one of ${UPSTREAM_KINDS.join(', ')}`);
  if (opts.failEvery !== undefined && !(Number.isInteger(opts.failEvery) && opts.failEvery >= 1)) {
    problems.push(`failEvery=${String(opts.failEvery)} is not a positive integer`);
  }
  for (const key of ['apiKeys', 'unpaidKeys'] as const) {
    const keys = opts[key];
    if (keys !== undefined && !keys.every((k) => typeof k === 'string' && k.length > 0))
      problems.push(`${key} must be non-empty strings`);
  }
  if (problems.length > 0) throw new TypeError(`invalid mock options: ${problems.join('; ')}`);
  return {
    ...o,
    apiKeys: opts.apiKeys === undefined ? undefined : new Set(opts.apiKeys),
    unpaidKeys: opts.unpaidKeys === undefined ? undefined : new Set(opts.unpaidKeys),
    perKeyConcurrency: opts.perKeyConcurrency,
    failEvery: opts.failEvery,
    name: opts.name,
    rpm: opts.rpm,
    perKeyRpm: opts.perKeyRpm,
    kind: opts.kind,
    faultSeed: opts.faultSeed ?? o.seed,
    api: opts.api ?? (opts.kind === 'deepseek' ? 'both' : 'openai'),
    faults:
      opts.faults !== undefined && Object.entries(opts.faults).some(([k, v]) => k !== 'slowTokenMs' && v > 0)
        ? { ...opts.faults }
        : undefined,
    outages: o.outages.map((w) => ({ ...w })),
  };
}

function dropUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
