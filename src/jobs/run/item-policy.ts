import { backoffDelayMs, type BackoffSettings } from '../../retry/backoff.ts';

/**
 * What happens to a job item after one run through the gateway (pure: time and randomness are passed in).
 *
 *   2xx ─────────────────────────────▶ done (its result recorded once)
 *   pushback (no spare room: 429, queue_full/queue_timeout/no_capacity/deadline_unmeetable, draining)
 *        ─▶ queued again after a backoff, the attempt NOT counted: the upstream did no work
 *   retryable failure (5xx, timeouts, resets)
 *        ─▶ queued again after a full-jitter backoff ── after max_attempts ─▶ dead (dead-letter list)
 *   client error (other 4xx: the request itself is wrong) ─▶ failed at once (retrying cannot help)
 */
export type ItemVerdict =
  { kind: 'done' } | { kind: 'failed' } | { kind: 'dead' } | { kind: 'retry'; atMs: number; counted: boolean };

/** The gateway's own codes that mean "no room for background work now", not "this item failed". */
const PUSHBACK_CODES: ReadonlySet<string> = new Set([
  'rate_limited',
  'queue_full',
  'queue_timeout',
  'no_capacity',
  'deadline_unmeetable',
  'draining',
]);

export interface RunResult {
  /** HTTP status of the gateway's answer; 0 when the gateway could not be reached at all. */
  status: number;
  /** The error `code` of an OpenAI-shaped error body, when there was one. */
  code: string | undefined;
  /** Seconds from a Retry-After header, when there was one. */
  retryAfterS: number | undefined;
}

export interface ItemPolicy {
  maxAttempts: number;
  backoff: BackoffSettings;
}

/** True when the answer says "come back later" rather than "this failed": AIMD lowers the background limit on it. */
export function isPushback(r: RunResult): boolean {
  return r.status === 0 || r.status === 429 || (r.code !== undefined && PUSHBACK_CODES.has(r.code));
}

/** `attempts` counts this run. */
export function decideItem(
  r: RunResult,
  attempts: number,
  p: ItemPolicy,
  now: number,
  random: () => number,
): ItemVerdict {
  if (r.status >= 200 && r.status < 300) return { kind: 'done' };
  const retryAfterMs = r.retryAfterS === undefined ? undefined : r.retryAfterS * 1000;
  if (isPushback(r)) {
    return {
      kind: 'retry',
      atMs: now + backoffDelayMs(Math.max(0, attempts - 1), p.backoff, random, retryAfterMs),
      counted: false,
    };
  }
  if (r.status >= 400 && r.status < 500 && r.status !== 408) return { kind: 'failed' };
  if (attempts >= p.maxAttempts) return { kind: 'dead' };
  return { kind: 'retry', atMs: now + backoffDelayMs(attempts - 1, p.backoff, random, retryAfterMs), counted: true };
}
