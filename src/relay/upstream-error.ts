import { SpillwayError } from '../errors.ts';
import type { Outcome } from '../upstream/outcome.ts';

/** What an upstream said in its error body, if it used OpenAI's (or DeepSeek's, the same) error shape. */
function upstreamErrorMessage(text: string): {
  message: string | undefined;
  code: string | undefined;
  param: string | undefined;
} {
  try {
    const j = JSON.parse(text) as {
      error?: { message?: unknown; code?: unknown; param?: unknown } | string;
      message?: unknown;
    };
    const e = j.error;
    if (typeof e === 'string') return { message: e, code: undefined, param: undefined };
    return {
      message: typeof e?.message === 'string' ? e.message : typeof j.message === 'string' ? j.message : undefined,
      code: typeof e?.code === 'string' ? e.code : undefined,
      param: typeof e?.param === 'string' ? e.param : undefined,
    };
  } catch {
    const t = text.trim();
    return { message: t === '' ? undefined : t.slice(0, 500), code: undefined, param: undefined };
  }
}

/**
 * An upstream's non-2xx answer → the error the client sees. Client mistakes (4xx) pass through with the upstream's
 * status and message; the upstream's own auth failure is ours to fix, so the client gets a 502 that reveals no key.
 */
export function errorFromUpstreamStatus(
  status: number,
  bodyText: string,
  retryAfterMs: number | undefined,
  upstream: string,
): SpillwayError {
  const u = upstreamErrorMessage(bodyText);
  const retryAfterS = retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(retryAfterMs / 1000));
  const said = u.message === undefined ? '' : `: ${u.message}`;
  if (status === 429)
    return new SpillwayError('rate_limited', `Upstream '${upstream}' is rate limiting${said}`, { retryAfterS });
  if (status === 503 || status === 529)
    return new SpillwayError('overloaded', `Upstream '${upstream}' is overloaded${said}`, { retryAfterS });
  if (status === 401 || status === 403) {
    return new SpillwayError(
      'upstream_auth_failed',
      `Upstream '${upstream}' rejected the gateway's credentials; the operator must fix the upstream's api_key.`,
    );
  }
  if (status === 402) {
    return new SpillwayError(
      'upstream_insufficient_balance',
      `Upstream '${upstream}' refused the request: the gateway's account there has insufficient balance; the operator must top it up.`,
    );
  }
  if (status === 504) return new SpillwayError('upstream_timeout', `Upstream '${upstream}' timed out (504)${said}`);
  if (status >= 500) return new SpillwayError('upstream_error', `Upstream '${upstream}' failed with ${status}${said}`);
  return new SpillwayError(
    'upstream_rejected',
    u.message ?? `Upstream '${upstream}' refused the request with ${status}.`,
    {
      status,
      upstreamCode: u.code,
      param: u.param ?? null,
    },
  );
}

/** An attempt that failed without an HTTP answer → the error the client sees (undefined: nobody to tell). */
export function errorFromOutcome(o: Outcome, upstream: string): SpillwayError | undefined {
  switch (o.kind) {
    case 'cancelled':
      return undefined;
    case 'timeout':
      if (o.phase === 'deadline')
        return new SpillwayError(
          'upstream_timeout',
          `The request deadline passed while waiting for upstream '${upstream}'.`,
        );
      if (o.phase === 'pace')
        return new SpillwayError(
          'upstream_timeout',
          `Upstream '${upstream}' streamed too slowly to finish before the request's deadline.`,
        );
      return new SpillwayError(
        'upstream_timeout',
        `Upstream '${upstream}' exceeded its ${o.phase.replace('_', ' ')} timeout.`,
      );
    case 'reset':
      return new SpillwayError('upstream_error', `Connection to upstream '${upstream}' failed (${o.detail}).`);
    case 'invalid_answer':
      return new SpillwayError(
        'upstream_error',
        `Upstream '${upstream}' answered 200 without a valid answer (${o.detail}).`,
      );
    case 'overloaded':
      // Only a queueing upstream's overload comes here (a 503 has its own status path): it held us on keep-alives.
      return new SpillwayError(
        'overloaded',
        `Upstream '${upstream}' kept the request in its own queue (keep-alives, no first token) past its first token timeout.`,
      );
    // Outcomes with an HTTP answer take the status path (errorFromUpstreamStatus); should one come here, say what we know.
    case 'ok':
    case 'rate_limited':
    case 'server_error':
    case 'client_error':
    case 'auth_failed':
    case 'insufficient_balance':
      return new SpillwayError('upstream_error', `Upstream '${upstream}' failed.`);
  }
}
