import type { Outcome } from '../upstream/outcome.ts';

/**
 * Whether an attempt's outcome may be tried again elsewhere. Only failures that say nothing about the request
 * itself are retried: overloaded, rate limited, 5xx, a 200 that is no answer (blank, truncated, wrong shape), a refused or unpaid key (another account may work), a connection that failed or was reset before the first byte,
 * a connect or first-token timeout. A 4xx is the request's own fault and is never retried; anything after the
 * first byte reached the client is for mid-stream recovery, not for a retry.
 */
export function isRetryable(o: Outcome): boolean {
  switch (o.kind) {
    case 'overloaded':
    case 'rate_limited':
    case 'server_error':
    case 'auth_failed':
    case 'insufficient_balance':
    case 'invalid_answer':
      return true;
    case 'reset':
      return !o.afterFirstByte;
    case 'timeout':
      // Before the first byte reached the client any of our timers may fire (a non-stream answer can stall halfway
      // and still be retried); the request's own deadline is the one that is final.
      return !o.afterFirstByte && o.phase !== 'deadline';
    case 'ok':
    case 'client_error':
    case 'cancelled':
      return false;
  }
}

export type RetryVerdict =
  | { retry: true; delayMs: number }
  | { retry: false; why: 'not_retryable' | 'attempts_exhausted' | 'deadline' | 'budget' | 'committed' };

/**
 * The decision after a failed attempt, in the order that keeps answers fast: not retryable, already committed to
 * the client, out of attempts, the wait plus a minimal attempt would pass the deadline, out of budget.
 * `takeBudget` is called last so that only a retry that will really happen spends the budget.
 */
export function decideRetry(i: {
  outcome: Outcome;
  committed: boolean;
  attempt: number;
  maxAttempts: number;
  delayMs: number;
  now: number;
  deadlineAt: number;
  /** The shortest time an attempt could take; a retry that cannot finish in time is not made. */
  minAttemptMs: number;
  takeBudget: () => boolean;
}): RetryVerdict {
  if (!isRetryable(i.outcome)) return { retry: false, why: 'not_retryable' };
  if (i.committed) return { retry: false, why: 'committed' };
  if (i.attempt >= i.maxAttempts) return { retry: false, why: 'attempts_exhausted' };
  if (i.now + i.delayMs + i.minAttemptMs > i.deadlineAt) return { retry: false, why: 'deadline' };
  if (!i.takeBudget()) return { retry: false, why: 'budget' };
  return { retry: true, delayMs: i.delayMs };
}
