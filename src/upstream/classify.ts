import type { Outcome, TimeoutPhase } from './outcome.ts';
import { statedConcurrencyLimit } from './stated-limit.ts';

/** Parses Retry-After (delay-seconds or an HTTP date) into milliseconds from `nowEpochMs`. */
export function parseRetryAfter(value: string | string[] | undefined, nowEpochMs: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowEpochMs);
}

/**
 * An HTTP status (and, for an error, the body the upstream sent with it): the attempt's outcome. A 429 whose body
 * names the account's concurrency limit carries it (stated-limit.ts).
 */
export function classifyStatus(status: number, retryAfterMs: number | undefined, bodyText = ''): Outcome {
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 429) {
    const limit = statedConcurrencyLimit(bodyText);
    return limit === undefined ? { kind: 'rate_limited', retryAfterMs } : { kind: 'rate_limited', retryAfterMs, limit };
  }
  if (status === 402) return { kind: 'insufficient_balance', status };
  if (status === 503 || status === 529) return { kind: 'overloaded', status, retryAfterMs };
  if (status >= 500) return { kind: 'server_error', status };
  if (status === 401 || status === 403) return { kind: 'auth_failed', status };
  return { kind: 'client_error', status };
}

/** Error codes undici and node:net raise when a connection fails or dies. */
const RESET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/**
 * A thrown error during an attempt. `timeoutPhase` is set when our own timer aborted the attempt; `clientGone`
 * when the client left (that is not the upstream's fault). `queuedUpstream`: the upstream had sent only keep-alives
 * (blank lines, SSE comments) when the first-token timer fired — it was holding us in its own queue, which is
 * pushback (`overloaded`), not a stall.
 */
export function classifyError(
  err: unknown,
  ctx: {
    afterFirstByte: boolean;
    timeoutPhase: TimeoutPhase | undefined;
    clientGone: boolean;
    queuedUpstream?: boolean;
  },
): Outcome {
  if (ctx.clientGone) return { kind: 'cancelled' };
  if (ctx.timeoutPhase === 'first_token' && ctx.queuedUpstream === true)
    return { kind: 'overloaded', status: 200, retryAfterMs: undefined, queuedUpstream: true };
  if (ctx.timeoutPhase !== undefined)
    return { kind: 'timeout', phase: ctx.timeoutPhase, afterFirstByte: ctx.afterFirstByte };
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return { kind: 'timeout', phase: 'connect', afterFirstByte: false };
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return { kind: 'timeout', phase: 'first_token', afterFirstByte: false };
  if (code === 'UND_ERR_BODY_TIMEOUT') return { kind: 'timeout', phase: 'idle', afterFirstByte: ctx.afterFirstByte };
  const detail = typeof code === 'string' ? code : err instanceof Error ? err.message : 'unknown error';
  if (typeof code === 'string' && RESET_CODES.has(code))
    return { kind: 'reset', afterFirstByte: ctx.afterFirstByte, detail };
  return { kind: 'reset', afterFirstByte: ctx.afterFirstByte, detail };
}
