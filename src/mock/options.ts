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
  /** Time before the first token. Default 0. */
  ttftMs?: number;
  /** Time between tokens. Default 0: the whole answer is written at once, with no timers. */
  tokenMs?: number;
  /** Requests served concurrently. Default Infinity; 0 makes every request wait or be refused. */
  slots?: number;
  /** Requests allowed to wait for a slot. Default 0. */
  queueSize?: number;
  /** A waiting request gives up after this and is refused like `reject`. Default 30000. */
  queueTimeoutMs?: number;
  /** Status when slots and queue are full. Default 503. */
  reject?: 429 | 503;
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
   * Every Nth generation request gets an injected fault, alternating a 500 and a connection reset after two
   * tokens (the `flaky` profile). Default: never.
   */
  failEvery?: number;
  /** Label for logs, stats and the `x-mock-name` response header. */
  name?: string;
}

export type ResolvedOptions = Required<Omit<MockOptions, 'apiKeys' | 'perKeyConcurrency' | 'failEvery' | 'name'>> & {
  apiKeys: ReadonlySet<string> | undefined;
  perKeyConcurrency: number | undefined;
  failEvery: number | undefined;
  name: string | undefined;
};

export const MOCK_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  seed: 1,
  ttftMs: 0,
  tokenMs: 0,
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
  count('slots', o.slots, true);
  count('queueSize', o.queueSize, true);
  count('queueTimeoutMs', o.queueTimeoutMs);
  count('retryAfterS', o.retryAfterS);
  count('keepAliveMs', o.keepAliveMs);
  count('defaultMaxTokens', o.defaultMaxTokens);
  if (o.defaultMaxTokens < 1) problems.push('defaultMaxTokens must be at least 1');
  if (!Number.isInteger(o.seed)) problems.push(`seed=${String(o.seed)} is not an integer`);
  if (o.reject !== 429 && o.reject !== 503) problems.push(`reject=${String(o.reject)} is not 429 or 503`);
  if (opts.perKeyConcurrency !== undefined) count('perKeyConcurrency', opts.perKeyConcurrency);
  if (opts.failEvery !== undefined && !(Number.isInteger(opts.failEvery) && opts.failEvery >= 1)) {
    problems.push(`failEvery=${String(opts.failEvery)} is not a positive integer`);
  }
  if (opts.apiKeys !== undefined && !opts.apiKeys.every((k) => typeof k === 'string' && k.length > 0)) {
    problems.push('apiKeys must be non-empty strings');
  }
  if (problems.length > 0) throw new TypeError(`invalid mock options: ${problems.join('; ')}`);
  return {
    ...o,
    apiKeys: opts.apiKeys === undefined ? undefined : new Set(opts.apiKeys),
    perKeyConcurrency: opts.perKeyConcurrency,
    failEvery: opts.failEvery,
    name: opts.name,
  };
}

function dropUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
