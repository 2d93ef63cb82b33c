import type { Outcome } from '../upstream/outcome.ts';

/**
 * What the request path sees of tracing: plain interfaces, so that with tracing off neither the implementation
 * (`tracing.ts`, imported at startup only when `tracing.otlp_endpoint` is set) nor the OpenTelemetry SDK is loaded.
 */

/** The span of one API request, on `ctx.trace` while tracing is on. */
export interface RequestTrace {
  /** Starts the child span of one upstream attempt (hedges included). */
  attempt(upstream: string, upstreamModel: string): AttemptTrace;
  /** Ends the request span with what the client got. The server calls it once, when the response is over. */
  end(done: RequestDone): void;
}

export interface RequestDone {
  status: number;
  /** `ok`, an error code from docs/errors.md, or `client_closed`. */
  code: string;
  model: string | undefined;
  tenant: string | undefined;
  priority: string;
  upstream: string | undefined;
  attempts: number;
  stream: boolean | undefined;
  /** `x-spillway-cache` when the response has one (hit, miss, coalesced). */
  cache: string | undefined;
}

/** The span of one upstream attempt. */
export interface AttemptTrace {
  /** W3C trace-context headers (`traceparent`, and `tracestate` when the client sent one) for the upstream request. */
  readonly headers: Readonly<Record<string, string>>;
  /** Ends the span with the attempt's classified outcome; later calls do nothing. */
  end(outcome: Outcome, status?: number): void;
}
