/**
 * Every upstream attempt ends in exactly one Outcome. Health (and later breakers, budgets, adaptive limits) consume
 * outcomes; the request path only asks them for a permit.
 */
export type TimeoutPhase = 'connect' | 'first_token' | 'idle' | 'pace' | 'total' | 'deadline';

export type Outcome =
  /**
   * `queuedUpstream`: a stream the upstream held with keep-alive comments before its first token: answered, but
   * only after waiting in the upstream's own queue (DeepSeek's way of saying busy): pushback for the learned limit.
   */
  | { kind: 'ok'; queuedUpstream?: true }
  /**
   * The upstream is busy: a 503/529, or (`queuedUpstream: true`, `status` 200) an upstream that answered 200 and
   * then held the request with keep-alives only (blank lines before a JSON body, `: keep-alive` SSE comments) until
   * our first-token timer fired. That is a provider (DeepSeek) queueing us instead of refusing: the same pushback
   * as a 503, only slower, so it is classified as one (learn a lower concurrency, keep the request in our queue).
   */
  | { kind: 'overloaded'; status: number; retryAfterMs: number | undefined; queuedUpstream?: true }
  /** `limit`: the account's concurrency limit when the 429's body names it (DeepSeek's balance-dependent one). */
  | { kind: 'rate_limited'; retryAfterMs: number | undefined; limit?: number }
  | { kind: 'timeout'; phase: TimeoutPhase; afterFirstByte: boolean }
  | { kind: 'reset'; afterFirstByte: boolean; detail: string }
  | { kind: 'server_error'; status: number }
  | { kind: 'client_error'; status: number }
  /** 401/403: the account's key was refused. Another account may still work. */
  | { kind: 'auth_failed'; status: number }
  /** 402: the account has no balance left (DeepSeek's "Insufficient Balance"). Another account may still pay. */
  | { kind: 'insufficient_balance'; status: number }
  /**
   * A 200 that is not an answer, found before anything reached the client: an empty or whitespace-only body, not
   * JSON, truncated JSON, JSON without the endpoint's shape (`choices`, or `data` for embeddings), a content-type
   * that is not the one asked for, or a stream that ended cleanly before its first content without `[DONE]`.
   * Never relayed; retried like a 5xx.
   */
  | { kind: 'invalid_answer'; detail: string }
  | { kind: 'cancelled' };

/**
 * Whether an attempt's end tells anything about its upstream's health. One cut at its client's deadline does not: it
 * ran out of the client's time, not the upstream's (a hung upstream is caught by its own first-token or idle
 * timeout, which fire before the deadline while a retry still fits). Counted as failures, the deadline cuts of a
 * queue served close to its deadlines took a healthy upstream out of rotation for seconds, and its slots idled while
 * the queue was full (`spillway demo`, seed 3: upstream `c`, 6.5 s near the end of the run).
 */
export function isHealthEvidence(o: Outcome): boolean {
  return !(o.kind === 'timeout' && o.phase === 'deadline');
}

/**
 * Outcomes that say the upstream itself is unwell (feeds passive health). Rate limits and client errors do not, and
 * neither does "busy" (503, keep-alive queueing): that is pushback, which the learned concurrency limit answers —
 * ejecting an upstream for saying it is full would throw away the capacity it still has (with no max_concurrency
 * configured, the first overshoot alone would take it out for 30 s). One that refuses even one request at a time
 * rests instead (balancer.ts).
 */
export function isUpstreamFailure(o: Outcome): boolean {
  switch (o.kind) {
    case 'timeout':
    case 'reset':
    case 'server_error':
    case 'invalid_answer':
      return true;
    case 'ok':
    case 'overloaded':
    case 'rate_limited':
    case 'client_error':
    case 'auth_failed':
    case 'insufficient_balance':
    case 'cancelled':
      return false;
  }
}
