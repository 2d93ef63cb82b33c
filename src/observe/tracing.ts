import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { Config } from '../config/types.ts';
import type { Stage } from '../pipeline.ts';
import type { RequestContext } from '../server/context.ts';
import type { Outcome } from '../upstream/outcome.ts';
import type { Logger } from './log.ts';
import type { AttemptTrace, RequestDone, RequestTrace } from './tracing-types.ts';

/** An export failure is logged at most this often (a collector that is down would otherwise log every batch). */
const EXPORT_WARN_INTERVAL_MS = 60_000;
/**
 * Longest the last export may hold up an exit: the Helm chart's terminationGracePeriodSeconds leaves 5 s after the
 * drain, and the exporter would otherwise retry an unreachable collector for its whole 10 s timeout.
 */
const SHUTDOWN_FLUSH_MS = 3_000;

export interface TracingOptions {
  /** Span batching delay (ms); the SDK's 5 s default suits production, tests flush on shutdown anyway. */
  scheduledDelayMs?: number;
}

/**
 * OpenTelemetry tracing, built once at startup when `tracing.otlp_endpoint` is set: one SERVER span per API
 * request (its parent is the client's `traceparent` when it sent one) and one CLIENT span per upstream attempt,
 * whose context goes upstream as `traceparent`. Spans are batched and exported as OTLP/HTTP JSON.
 *
 * The provider is this gateway's own, never registered globally: several gateways can run in one process (tests),
 * and Spillway uses no OTel auto-instrumentation whose global context could be confused with ours. Parents are
 * passed explicitly rather than through a context manager, which keeps AsyncLocalStorage off the hot path.
 */
export class Tracing {
  private readonly provider: TracerProvider;
  private readonly tracer: Tracer;
  private readonly propagator = new W3CTraceContextPropagator();
  private readonly log: Logger;

  constructor(config: Config['tracing'] & { otlpEndpoint: string }, log: Logger, opts: TracingOptions = {}) {
    this.log = log;
    const exporter = new WarningExporter(
      new OTLPTraceExporter({ url: config.otlpEndpoint, headers: { ...config.headers } }),
      log,
      config.otlpEndpoint,
    );
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': config.serviceName }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
      spanProcessors: [
        new BatchSpanProcessor({
          exporter,
          ...(opts.scheduledDelayMs === undefined ? {} : { scheduledDelayMillis: opts.scheduledDelayMs }),
        }),
      ],
    });
    this.tracer = this.provider.getTracer('spillway');
  }

  /** The first stage of the pipeline: opens the request span and puts it on the context. */
  readonly stage: Stage<RequestContext> = {
    name: 'trace',
    run: (ctx, next) => {
      const parent = this.propagator.extract(ROOT_CONTEXT, ctx.req.headers, defaultTextMapGetter);
      const url = ctx.req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const method = ctx.req.method ?? 'POST';
      const span = this.tracer.startSpan(
        `${method} ${path}`,
        {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': method, 'url.path': path, 'spillway.request_id': ctx.id },
        },
        parent,
      );
      ctx.trace = new SpanRequestTrace(span, this.tracer, this.propagator);
      return next();
    },
  };

  /**
   * Exports what is still buffered and stops; spans ended after this are dropped. Never rejects: a collector that
   * is down must not turn a clean drain into a crash on exit.
   */
  async shutdown(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), SHUTDOWN_FLUSH_MS);
    });
    try {
      const r = await Promise.race([this.provider.shutdown(), timeout]);
      if (r === 'timeout')
        this.log.warn(
          { waitedMs: SHUTDOWN_FLUSH_MS },
          'tracing: the collector did not take the last spans in time; exiting without them',
        );
    } catch (err) {
      this.log.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'tracing: the last spans could not be exported at shutdown',
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

class SpanRequestTrace implements RequestTrace {
  private readonly span: Span;
  private readonly tracer: Tracer;
  private readonly propagator: W3CTraceContextPropagator;
  private attempts = 0;

  constructor(span: Span, tracer: Tracer, propagator: W3CTraceContextPropagator) {
    this.span = span;
    this.tracer = tracer;
    this.propagator = propagator;
  }

  attempt(upstream: string, upstreamModel: string): AttemptTrace {
    const parent = trace.setSpan(ROOT_CONTEXT, this.span);
    const span = this.tracer.startSpan(
      `attempt ${upstream}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'spillway.upstream': upstream,
          'spillway.upstream_model': upstreamModel,
          'spillway.attempt': ++this.attempts,
        },
      },
      parent,
    );
    const headers: Record<string, string> = {};
    this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
    return new SpanAttemptTrace(span, headers);
  }

  end(d: RequestDone): void {
    const s = this.span;
    s.setAttribute('http.response.status_code', d.status);
    s.setAttribute('spillway.code', d.code);
    s.setAttribute('spillway.priority', d.priority);
    s.setAttribute('spillway.attempts', d.attempts);
    if (d.model !== undefined) s.setAttribute('spillway.model', d.model);
    if (d.tenant !== undefined) s.setAttribute('spillway.tenant', d.tenant);
    if (d.upstream !== undefined) s.setAttribute('spillway.upstream', d.upstream);
    if (d.stream !== undefined) s.setAttribute('spillway.stream', d.stream);
    if (d.cache !== undefined) s.setAttribute('spillway.cache', d.cache);
    if (d.code !== 'ok') s.setAttribute('error.type', d.code);
    // HTTP server convention: only a 5xx is the server's error; a 429 shed is an honest answer, its code says why.
    if (d.status >= 500) s.setStatus({ code: SpanStatusCode.ERROR, message: d.code });
    s.end();
  }
}

class SpanAttemptTrace implements AttemptTrace {
  readonly headers: Readonly<Record<string, string>>;
  private readonly span: Span;
  private ended = false;

  constructor(span: Span, headers: Record<string, string>) {
    this.span = span;
    this.headers = headers;
  }

  end(outcome: Outcome, status?: number): void {
    if (this.ended) return;
    this.ended = true;
    const s = this.span;
    s.setAttribute('spillway.outcome', outcome.kind);
    if (status !== undefined) s.setAttribute('http.response.status_code', status);
    if (outcome.kind === 'timeout') s.setAttribute('spillway.timeout_phase', outcome.phase);
    if (outcome.kind !== 'ok' && outcome.kind !== 'cancelled') {
      s.setAttribute('error.type', outcome.kind);
      s.setStatus({ code: SpanStatusCode.ERROR, message: outcome.kind });
    }
    s.end();
  }
}

/**
 * The SDK reports a failed export only to OTel's global diagnostics, which are silent unless configured: an
 * operator whose collector is unreachable would see no traces and no reason. This says why in our log, at most
 * once a minute, with how many batches were lost meanwhile.
 */
class WarningExporter implements SpanExporter {
  private readonly inner: SpanExporter;
  private readonly log: Logger;
  private readonly endpoint: string;
  private lastWarnAt = -Infinity;
  private failedSinceWarn = 0;

  constructor(inner: SpanExporter, log: Logger, endpoint: string) {
    this.inner = inner;
    this.log = log;
    this.endpoint = endpoint;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        this.failedSinceWarn++;
        const now = Date.now();
        if (now - this.lastWarnAt >= EXPORT_WARN_INTERVAL_MS) {
          this.log.warn(
            { endpoint: this.endpoint, failedBatches: this.failedSinceWarn, err: result.error?.message },
            'tracing: exporting spans failed; spans were dropped',
          );
          this.lastWarnAt = now;
          this.failedSinceWarn = 0;
        }
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
