import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '../clock.ts';
import type { UpstreamConfig } from '../config/types.ts';
import { AttemptTimer, type AttemptTimeouts } from './attempt-timer.ts';
import type { TimeoutPhase } from './outcome.ts';
import type { UpstreamPools } from './pools.ts';
import { upstreamRequest } from './upstream-path.ts';
import { UpstreamCall, type UpstreamHead } from './upstream-call.ts';
import { messagesPath } from './upstream-api.ts';

export interface AttemptRequest {
  upstream: UpstreamConfig;
  /** The leased account's key (undefined for a keyless upstream). */
  apiKey: string | undefined;
  /** Endpoint path such as `/chat/completions`, appended to the upstream's base path. */
  path: string;
  body: Buffer | string;
  requestId: string;
  /** Clock time by which the client needs its answer. */
  deadlineAt: number;
  /** This attempt's first-token and idle timeouts (chosen by the caller: pinned or adaptive); total from the config. */
  timeouts: Omit<AttemptTimeouts, 'totalMs'>;
  clientGone: AbortSignal;
  /** Aborts this attempt alone (a hedge that lost); it ends as `cancelled`, like a client that left. */
  cancel?: AbortSignal;
  /**
   * Set for a Messages request passed through to an upstream that serves the Messages API: it goes to that API's
   * path (upstream-api.ts) with the key as `x-api-key`, and these headers (`anthropic-version`, `anthropic-beta`).
   */
  messages?: Readonly<Record<string, string>> | undefined;
  /** Set for a Responses request passed through to an upstream that serves that API: it goes to `{url}/responses`. */
  responses?: boolean;
  /** The attempt span's W3C trace-context headers (tracing on only). */
  traceHeaders?: Readonly<Record<string, string>> | undefined;
}

/**
 * One attempt, from headers received to body consumed. Lifecycle (asserted by tests): openAttempt resolves once
 * with the response head or rejects once; the caller then reads `body` to its end or calls `close()`; `close()` is
 * idempotent and always stops the timer and detaches from the client's signal.
 */
export interface OpenAttempt {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The upstream body, read by pulling chunks (`read()`, or `for await`). */
  readonly body: UpstreamCall;
  /** Wraps an error raised while reading `body` with what the attempt knows (our timer, the client leaving). */
  error(err: unknown): AttemptError;
  readonly timer: AttemptTimer;
  readonly startedAt: number;
  /** The timeout that aborted the attempt, if one did. */
  timeoutPhase(): TimeoutPhase | undefined;
  close(): void;
}

export class AttemptError extends Error {
  readonly timeoutPhase: TimeoutPhase | undefined;
  readonly clientGone: boolean;
  /** The upstream had sent keep-alives and no token when the attempt failed (a provider queueing us). */
  readonly queuedUpstream: boolean;
  constructor(cause: unknown, timeoutPhase: TimeoutPhase | undefined, clientGone: boolean, queuedUpstream = false) {
    super('upstream attempt failed', { cause });
    this.name = 'AttemptError';
    this.timeoutPhase = timeoutPhase;
    this.clientGone = clientGone;
    this.queuedUpstream = queuedUpstream;
  }
}

/** Why an attempt's unread body is given up: one shared error, so closing costs no stack trace. */
const CLOSED = new Error('attempt closed by the gateway');
/** Why our own timer or the client leaving aborted the attempt (what the caller sees comes from the timer's phase). */
const ABORTED = new Error('attempt aborted by the gateway');

export async function openAttempt(pools: UpstreamPools, clock: Clock, r: AttemptRequest): Promise<OpenAttempt> {
  const { pool, basePath, heard } = pools.get(r.upstream.name);
  // The upstream's kind may move the request (DeepSeek's /beta features) or mend its body (upstream-path.ts).
  const kind = pools.kind(r.upstream.name);
  const target =
    r.messages !== undefined
      ? { path: messagesPath(kind, basePath), body: r.body }
      : r.responses === true
        ? { path: `${basePath}/responses`, body: r.body }
        : upstreamRequest(kind, basePath, r.path, r.body);
  const call = new UpstreamCall();
  const abort = () => call.abort(ABORTED);
  r.clientGone.addEventListener('abort', abort, { once: true });
  r.cancel?.addEventListener('abort', abort, { once: true });
  const gone = () => r.clientGone.aborted || r.cancel?.aborted === true;
  const timer = new AttemptTimer(
    () => clock.now(),
    { ...r.timeouts, totalMs: r.upstream.timeouts.totalMs, upstream: heard },
    r.deadlineAt,
    abort,
  );
  const startedAt = clock.now();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    timer.stop();
    r.clientGone.removeEventListener('abort', abort);
    r.cancel?.removeEventListener('abort', abort);
  };
  const headers: Record<string, string> = {
    ...r.upstream.headers,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'x-request-id': r.requestId,
  };
  if (r.messages !== undefined) Object.assign(headers, r.messages);
  if (r.apiKey !== undefined) {
    if (r.messages === undefined) headers.authorization = `Bearer ${r.apiKey}`;
    else headers['x-api-key'] = r.apiKey; // the Messages API's own header (Anthropic's; DeepSeek's /anthropic takes it too)
  }
  if (r.traceHeaders !== undefined) Object.assign(headers, r.traceHeaders);
  // A signal that fired before the call was made (the client left while we chose a route) aborts it at once.
  if (gone()) call.abort(ABORTED);
  let head: UpstreamHead;
  try {
    pool.dispatch({ method: 'POST', path: target.path, headers, body: target.body }, call);
    head = await call.head;
  } catch (err) {
    close();
    throw new AttemptError(err, timer.fired, gone());
  }
  return {
    status: head.status,
    headers: head.headers,
    body: call,
    error: (err: unknown) =>
      err instanceof AttemptError ? err : new AttemptError(err, timer.fired, gone(), timer.queuedUpstream),
    timer,
    startedAt,
    timeoutPhase: () => timer.fired,
    close: () => {
      close();
      call.abort(CLOSED);
    },
  };
}
