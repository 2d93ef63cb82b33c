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
}

const KINDS = ['error500', 'resetBeforeHeaders', 'resetMidStream', 'stall', 'slowTokens'] as const;
export type FaultKind = (typeof KINDS)[number];

export const DEFAULT_SLOW_TOKEN_MS = 200;

/** Problems with a rates object, each naming the field (empty when valid). */
export function faultRateProblems(rates: FaultRates): string[] {
  const problems: string[] = [];
  let sum = 0;
  if (typeof rates !== 'object' || rates === null || Array.isArray(rates)) return ['faults must be a map of rates'];
  for (const [field, v] of Object.entries(rates)) {
    if (v === undefined) continue;
    if (field === 'slowTokenMs') {
      if (!(Number.isInteger(v) && v >= 0)) problems.push(`faults.slowTokenMs=${String(v)} is not a non-negative integer`);
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
 * position), so the draw of a request never depends on the outcome of another. `tokens` is the answer's length.
 */
export function drawFaults(rates: FaultRates, rng: Rng, tokens: number): { kind: FaultKind; faults: Faults } | undefined {
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
      return { kind, faults: { resetAfterTokens: n < 2 ? 1 : 1 + Math.floor(at * (n - 1)) } };
    case 'stall':
      return { kind, faults: Math.floor(at * n) === 0 ? { stallAfterHeaders: true } : { stallAfterTokens: Math.floor(at * n) } };
    case 'slowTokens':
      return { kind, faults: { tokenMs: rates.slowTokenMs ?? DEFAULT_SLOW_TOKEN_MS, slowTokens: true } };
  }
}
