import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Config } from '../config/types.ts';
import { SpillwayError } from '../errors.ts';
import type { Handler } from '../pipeline.ts';
import { requestLineWriter, type Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import { labelCache } from '../observe/label-cache.ts';
import { matchEndpoint } from '../api/endpoints.ts';
import { renderError, toSpillwayError } from '../api/render-error.ts';
import { unserved, type RequestContext } from './context.ts';
import { checkRequestTarget } from './request-target.ts';
import { answerClientError, refuseConnect } from './client-error.ts';
import { ConnectionLimit } from './connection-limit.ts';
import type { Duplex } from 'node:stream';
import { requestDeadlineMs, requestPriority } from './deadline.ts';
import type { FinishedRequest } from '../observe/request-log.ts';

// node:http taken as a CommonJS module, not `import`ed: an ES import of it makes Node build the module's namespace,
// which reads its lazy WebSocket getters and so loads Node's bundled undici (fetch, WebSocket): ~13 MB of resident
// memory in every process for classes the gateway never uses.
const { createServer } = process.getBuiltinModule('node:http');

export interface ServerDeps {
  config: Config;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  handler: Handler<RequestContext>;
  /** Operational routes (health, readiness, metrics): answered outside the API pipeline, without auth. */
  ops: (req: IncomingMessage, res: ServerResponse, path: string) => boolean;
  /** Called once per finished API request (the request log, the access log file). */
  onFinished?: (r: FinishedRequest, atMs: number) => void;
}

/** Time for the request line and headers to arrive (Node checks it every 30 s, so a slow client is cut within 90 s). */
const HEADERS_TIMEOUT_MS = 60_000;

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * Accepts connections, gives every request an id, a deadline and a client-abort signal, runs the API pipeline and
 * writes one log line and the request metrics when it is over. Tracks requests in flight for a graceful drain.
 */
export class HttpServer {
  readonly server: Server;
  private readonly deps: ServerDeps;
  /** The config in force: a reload swaps it (deadlines, request log lines); the listener itself stays. */
  private config: Config;
  private inFlight = 0;
  private draining = false;
  private readonly requestsCounter;
  private readonly durationHistogram;
  private readonly ttftHistogram;
  private readonly tokensCounter;
  private idleWaiters: (() => void)[] = [];
  /**
   * The answer each connection is on: a parse error there (a bad chunk, a bad pipelined request) may be answered
   * only while that answer has not started, or the error would be written into the middle of it.
   */
  private readonly answering = new WeakMap<Duplex, ServerResponse>();
  private readonly requestLine: (fields: object) => void;
  private readonly connections: ConnectionLimit;

  constructor(deps: ServerDeps) {
    this.deps = deps;
    this.config = deps.config;
    const m = deps.metrics;
    this.requestsCounter = labelCache((model, upstream, status, code) =>
      m.requests.labels({ model, upstream, status, code }),
    );
    this.durationHistogram = labelCache((model, stream) => m.requestDuration.labels({ model, stream }));
    this.ttftHistogram = labelCache((model) => m.ttft.labels({ model }));
    this.requestLine = requestLineWriter(deps.log);
    this.tokensCounter = labelCache((model, upstream, kind) => m.tokens.labels({ model, upstream, kind }));
    const { server } = deps.config;
    // A request (headers and body) must arrive within the longest body allowance plus the headers' own: nothing a
    // client sends may hold a socket for ever, however slowly it trickles in.
    this.server = createServer(
      {
        keepAliveTimeout: 65_000,
        headersTimeout: HEADERS_TIMEOUT_MS,
        requestTimeout: HEADERS_TIMEOUT_MS + Math.max(server.bodyTimeoutMs, server.uploadTimeoutMs),
      },
      (req, res) => this.onRequest(req, res),
    );
    // Not Node's `maxConnections`: it drops a connection beyond the cap without a word; this answers it (a 503).
    this.connections = new ConnectionLimit(
      this.server,
      () => this.config.server.maxConnections,
      () => m.connectionsDropped.inc(),
    );
    this.server.on('clientError', (err: Error & { code?: string }, socket: Duplex) =>
      answerClientError(err, socket, this.answering.get(socket)?.headersSent === true),
    );
    this.server.on('connect', (_req: IncomingMessage, socket: Duplex) => refuseConnect(socket));
    // Node answers an Expect other than 100-continue itself, with a bare 417: this one says why, as JSON.
    this.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      renderError(
        res,
        new SpillwayError('expectation_failed', 'Only `Expect: 100-continue` is supported.', { param: 'expect' }),
      );
    });
  }

  /** Applies a reloaded config to requests that arrive from now on. */
  reconfigure(config: Config): void {
    this.config = config;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Stops taking new work; resolves when in-flight requests are done or `graceMs` has passed. */
  async drain(graceMs: number): Promise<boolean> {
    this.draining = true;
    this.server.close();
    this.server.closeIdleConnections();
    if (this.inFlight === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    return finished;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    // A connection over the cap was answered as it arrived; a request read off it afterwards gets nothing more.
    if (this.connections.isRefused(req.socket)) {
      req.resume();
      return;
    }
    try {
      this.route(req, res);
    } catch (err) {
      // Last line of defence: a throw in a router must cost one request a 500, never the process.
      req.resume();
      if (!res.headersSent) renderError(res, toSpillwayError(err, this.deps.log, 'router'));
      else res.destroy();
    }
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    this.answering.set(socket, res);
    res.once('close', () => {
      if (this.answering.get(socket) === res) this.answering.delete(socket);
    });
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const badTarget = checkRequestTarget(url);
    if (badTarget !== undefined) {
      req.resume();
      renderError(res, badTarget);
      return;
    }
    if (this.deps.ops(req, res, path)) return;
    const supplied = req.headers['x-request-id'];
    const id = typeof supplied === 'string' && REQUEST_ID.test(supplied) ? supplied : randomUUID();
    res.setHeader('x-request-id', id);
    const match = matchEndpoint(req.method ?? 'GET', url);
    if (match === undefined || 'wrongMethod' in match) {
      req.resume();
      if (match !== undefined) res.setHeader('allow', match.wrongMethod);
      renderError(
        res,
        match === undefined
          ? new SpillwayError(
              'not_found',
              `Unknown path ${path}. Spillway serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models, /v1/messages (Anthropic) and /v1/responses.`,
            )
          : new SpillwayError(
              'method_not_allowed',
              `${req.method ?? ''} is not allowed on ${path}; use ${match.wrongMethod}.`,
            ),
      );
      return;
    }
    const { clock } = this.deps;
    const config = this.config;
    const now = clock.now();
    const abort = new AbortController();
    const ctx: RequestContext = {
      id,
      req,
      res,
      startedAt: now,
      deadlineAt: now + requestDeadlineMs(req.headers, config.server.defaultDeadlineMs),
      clientGone: abort.signal,
      endpoint: match.endpoint,
      door: match.door,
      body: undefined,
      call: undefined,
      tenant: undefined,
      gatewayKey: undefined,
      priority: requestPriority(req.headers['x-spillway-priority']),
      allowedModels: null,
      model: undefined,
      trace: undefined,
      ...unserved(),
    };
    this.inFlight++;
    let pipelineDone = false;
    let closed = false;
    const finish = () => {
      if (pipelineDone && closed) this.finish(ctx);
    };
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
      closed = true;
      finish();
    });
    this.deps
      .handler(ctx)
      .catch((err: unknown) => {
        const e = toSpillwayError(err, this.deps.log, id);
        if (ctx.errorCode === undefined) ctx.errorCode = e.code;
        // Errors go to the socket's response in the door's own shape (a door's translating response wrote nothing yet).
        if (!abort.signal.aborted)
          renderError(res, e, ctx.door === 'anthropic' || ctx.door === 'anthropic_count' ? 'anthropic' : 'openai');
      })
      .finally(() => {
        pipelineDone = true;
        finish();
      });
  }

  private finish(ctx: RequestContext): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
    const { metrics, clock } = this.deps;
    const ms = clock.now() - ctx.startedAt;
    const asked = ctx.call?.model;
    const model = modelLabel(asked, this.config.models);
    const aborted = ctx.clientGone.aborted;
    const status = aborted ? 499 : ctx.res.statusCode;
    const code = aborted ? 'client_closed' : (ctx.errorCode ?? 'ok');
    this.requestsCounter(model, ctx.upstream ?? '', String(status), code).inc();
    this.durationHistogram(model, ctx.call?.stream === true ? 'true' : 'false').observe(ms / 1000);
    if (ctx.ttftMs !== undefined) this.ttftHistogram(model).observe(ctx.ttftMs / 1000);
    if (ctx.attempts > 0) metrics.overhead.observe(Math.max(0, ms - ctx.upstreamMs) / 1000);
    if (aborted) metrics.clientAborts.inc({ model });
    const cacheHeader = ctx.res.getHeader('x-spillway-cache');
    const cache = typeof cacheHeader === 'string' ? cacheHeader : undefined;
    if (ctx.trace !== undefined) {
      ctx.trace.end({
        status,
        code,
        model: ctx.call?.model,
        tenant: ctx.tenant,
        priority: ctx.priority,
        upstream: ctx.upstream,
        attempts: ctx.attempts,
        stream: ctx.call?.stream,
        cache,
      });
    }
    const u = ctx.usage;
    if (u !== undefined && ctx.upstream !== undefined) {
      this.tokensCounter(model, ctx.upstream, 'prompt').inc(u.promptTokens);
      this.tokensCounter(model, ctx.upstream, 'completion').inc(u.completionTokens);
      if (u.promptCacheHitTokens > 0)
        this.tokensCounter(model, ctx.upstream, 'prompt_cache_hit').inc(u.promptCacheHitTokens);
      if (u.promptCacheMissTokens !== undefined && u.promptCacheMissTokens > 0)
        this.tokensCounter(model, ctx.upstream, 'prompt_cache_miss').inc(u.promptCacheMissTokens);
    }
    // Only a stream whose 200 went out can be interrupted: a refused one got its own status (the response is sent
    // by now, so `headersSent` alone would count every refusal of a stream as a cut stream).
    if (
      code === 'stream_interrupted' ||
      (ctx.call?.stream === true && status === 200 && code !== 'ok' && code !== 'client_closed')
    ) {
      metrics.streamsInterrupted.inc({ model, upstream: ctx.upstream ?? '' });
    }
    const logLine = this.config.log.requests;
    if (!logLine && this.deps.onFinished === undefined) return;
    // One object for the log line and the record (a copy cost a few % of the gateway's throughput); the line stamps
    // its own time, the record gets the wall clock as a number.
    const line: FinishedRequest = {
      requestId: ctx.id,
      method: ctx.req.method,
      path: ctx.req.url,
      model: asked === undefined ? '' : asked.slice(0, LOGGED_MODEL_CHARS),
      stream: ctx.call?.stream,
      tenant: ctx.tenant,
      priority: ctx.priority,
      upstream: ctx.upstream,
      attempts: ctx.attempts,
      status,
      code,
      cache,
      ms: round(ms),
      ttftMs: ctx.ttftMs === undefined ? undefined : round(ctx.ttftMs),
      upstreamMs: round(ctx.upstreamMs),
      promptTokens: u?.promptTokens,
      completionTokens: u?.completionTokens,
      promptCacheHitTokens:
        u?.promptCacheMissTokens === undefined && u?.promptCacheHitTokens === 0 ? undefined : u?.promptCacheHitTokens,
      promptCacheMissTokens: u?.promptCacheMissTokens,
    };
    if (logLine) this.requestLine(line);
    this.deps.onFinished?.(line, Date.now());
  }
}

/** A client's model string is logged up to this length: the request log keeps hundreds of lines in memory. */
const LOGGED_MODEL_CHARS = 256;

/**
 * The `model` label of a finished request. Parsing runs before authentication, so the string is the client's own:
 * only a configured public model becomes a label, anything else counts under `other` (and no model at all under
 * ''), so no client can grow the series count (and /metrics, and the dashboard that re-reads it) without bound.
 */
function modelLabel(asked: string | undefined, models: Readonly<Record<string, unknown>>): string {
  if (asked === undefined) return '';
  return Object.hasOwn(models, asked) ? asked : 'other';
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
