import type { Faults } from './faults.ts';
import type { Rng } from './rng.ts';

/**
 * Mock-level faults: each generation request draws, from the mock's seeded generator, whether it fails and how.
 * A storm test sets rates once ("3% of requests get a 500") instead of asking per request, and the same seed
 * fails the same requests on every run.
 *
 * One uniform draw picks at most one kind: the rates are slices of [0, 1) laid end to end, in the order below,
 * so each kind fires at exactly its own rate (independent draws with a precedence would make later kinds rarer
 * than configured). Hence the rates must add up to at most 1.
 */
export interface FaultRates {
  /** Answer 500 server_error. */
  error500?: number;
  /** Drop the connection before any header. */
  resetBeforeHeaders?: number;
  /** Send part of the answer, then drop the connection (after a seeded number of tokens, at least one). */
  resetMidStream?: number;
  /** Send headers and part of the answer (a seeded number of tokens, maybe none), then nothing, ever. */
  stall?: number;
  /** Generate at `slowTokenMs` per token instead of `tokenMs`. */
  slowTokens?: number;
  /** Time between tokens of a slowTokens request. Default 200. */
  slowTokenMs?: number;
  /** Answer 429 rate_limit_exceeded with the mock's Retry-After (an account limit hit at random). */
  error429?: number;
  /** Answer 503 "Server is busy" with the mock's Retry-After, whatever the load. */
  error503?: number;
  /** Send headers, then nothing, ever (the stall of `stall` that happens before any token). */
  stallBeforeFirstToken?: number;
  /** Send headers and 1 … n−1 tokens (seeded), then nothing, ever (the stall of `stall` inside the answer). */
  stallMidStream?: number;
  /** Answer 200 whose body is only blank lines (DeepSeek's empty answer: clients fail on `JSONDecodeError`). */
  blank200?: number;
  /** Send 200 headers, then keep-alive lines every `keepAliveMs` (1 s when 0), never an answer. */
  keepAliveForever?: number;
  /**
   * End the answer cleanly after 1 … n−1 tokens (seeded): a non-stream body cut inside its JSON with a matching
   * content-length, a stream without `[DONE]`. Nothing at the HTTP level says it is broken.
   */
  truncatedBody?: number;
  /** Answer 200 with `content-type: text/html` and an HTML page (a proxy's error page) instead of the API's answer. */
  wrongContentType?: number;
}

/**
 * New kinds go at the END: the slices are laid out in this order, so appending keeps every existing fleet's
 * seeded draws exactly as they were.
 */
const KINDS = [
  'error500',
  'resetBeforeHeaders',
  'resetMidStream',
  'stall',
  'slowTokens',
  'error429',
  'error503',
  'stallBeforeFirstToken',
  'stallMidStream',
  'blank200',
  'keepAliveForever',
  'truncatedBody',
  'wrongContentType',
] as const;
export type FaultKind = (typeof KINDS)[number];

/** Time between tokens of a slowTokens request when `slowTokenMs` is not set. */
export const DEFAULT_SLOW_TOKEN_MS = 200;

/** Problems with a rates object, each naming the field (empty when valid). */
export function faultRateProblems(rates: FaultRates): string[] {
  const problems: string[] = [];
  let sum = 0;
  if (typeof rates !== 'object' || rates === null || Array.isArray(rates)) return ['faults must be a map of rates'];
  for (const [field, v] of Object.entries(rates)) {
    if (v === undefined) continue;
    if (field === 'slowTokenMs') {
      if (!(Number.isInteger(v) && v >= 0))
        problems.push(`faults.slowTokenMs=${String(v)} is not a non-negative integer`);
    } else if (!(KINDS as readonly string[]).includes(field)) {
      problems.push(`faults.${field} is not a fault (known: ${KINDS.join(', ')}, slowTokenMs)`);
    } else if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      problems.push(`faults.${field}=${String(v)} is not a probability from 0 to 1`);
    } else {
      sum += v;
    }
  }
  if (sum > 1 + 1e-9) problems.push(`faults rates add up to ${sum}, more than 1`);
  return problems;
}

/** Which kind (if any) a uniform draw `u` in [0, 1) selects. Pure: the rate tests feed it thousands of draws. */
export function pickFault(rates: FaultRates, u: number): FaultKind | undefined {
  let edge = 0;
  for (const kind of KINDS) {
    edge += rates[kind] ?? 0;
    if (u < edge) return kind;
  }
  return undefined;
}

/**
 * One request's draw, as per-request fault settings. Always takes exactly two numbers from `rng` (kind, then
 * position), so the draw of a request never depends on the outcome of another. `tokens` is the answer's length;
 * `retryAfterS` goes with a drawn 429 or 503 (the mock's own Retry-After, as its real refusals carry).
 */
export function drawFaults(
  rates: FaultRates,
  rng: Rng,
  tokens: number,
  retryAfterS = 1,
): { kind: FaultKind; faults: Faults } | undefined {
  const kind = pickFault(rates, rng());
  const at = rng();
  const n = Math.max(1, tokens);
  switch (kind) {
    case undefined:
      return undefined;
    case 'error500':
      return { kind, faults: { status: 500 } };
    case 'resetBeforeHeaders':
      return { kind, faults: { resetBeforeHeaders: true } };
    case 'resetMidStream':
      // 1 … n-1 tokens: always inside the answer, never a clean end (one token when the answer has only one).
      return { kind, faults: { resetAfterTokens: inside(at, n) } };
    case 'stall':
      return {
        kind,
        faults: Math.floor(at * n) === 0 ? { stallAfterHeaders: true } : { stallAfterTokens: Math.floor(at * n) },
      };
    case 'slowTokens':
      return { kind, faults: { tokenMs: rates.slowTokenMs ?? DEFAULT_SLOW_TOKEN_MS, slowTokens: true } };
    case 'error429':
      return { kind, faults: { status: 429, retryAfterS } };
    case 'error503':
      return { kind, faults: { status: 503, retryAfterS } };
    case 'stallBeforeFirstToken':
      return { kind, faults: { stallAfterHeaders: true } };
    case 'stallMidStream':
      return { kind, faults: { stallAfterTokens: inside(at, n) } };
    case 'blank200':
      return { kind, faults: { blank200: true } };
    case 'keepAliveForever':
      return { kind, faults: { keepAliveForever: true } };
    case 'truncatedBody':
      return { kind, faults: { endAfterTokens: inside(at, n) } };
    case 'wrongContentType':
      return { kind, faults: { wrongContentType: true } };
  }
}

/** A seeded position 1 … n−1 inside an answer of n tokens (1 when the answer has only one). */
function inside(at: number, n: number): number {
  return n < 2 ? 1 : 1 + Math.floor(at * (n - 1));
}
