/**
 * Every upstream attempt ends in exactly one Outcome. Health (and later breakers, budgets, adaptive limits) consume
 * outcomes; the request path only asks them for a permit.
 */
export type TimeoutPhase = 'connect' | 'first_token' | 'idle' | 'total' | 'deadline';

export type Outcome =
  | { kind: 'ok' }
  | { kind: 'overloaded'; status: number; retryAfterMs: number | undefined }
  | { kind: 'rate_limited'; retryAfterMs: number | undefined }
  | { kind: 'timeout'; phase: TimeoutPhase; afterFirstByte: boolean }
  | { kind: 'reset'; afterFirstByte: boolean; detail: string }
  | { kind: 'server_error'; status: number }
  | { kind: 'client_error'; status: number }
  /** 401/403: the account's key was refused. Another account may still work. */
  | { kind: 'auth_failed'; status: number }
  | { kind: 'cancelled' };

export type OutcomeKind = Outcome['kind'];

/** Outcomes that say the upstream itself is unwell (feeds passive health). Rate limits and client errors do not. */
export function isUpstreamFailure(o: Outcome): boolean {
  switch (o.kind) {
    case 'overloaded':
    case 'timeout':
    case 'reset':
    case 'server_error':
      return true;
    default:
      return false;
  }
}
