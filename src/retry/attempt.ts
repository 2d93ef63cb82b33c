import type { Clock } from '../clock.ts';
import type { Config } from '../config/types.ts';
import type { Lease } from '../balance/balancer.ts';
import type { SpillwayError } from '../errors.ts';
import type { Logger } from '../observe/log.ts';
import type { RequestContext, Usage } from '../server/context.ts';
import { UPSTREAM_PATH } from '../api/endpoints.ts';
import { AttemptError, openAttempt, type OpenAttempt } from '../upstream/open-attempt.ts';
import { classifyError, classifyStatus, parseRetryAfter } from '../upstream/classify.ts';
import type { Outcome } from '../upstream/outcome.ts';
import type { UpstreamPools } from '../upstream/pools.ts';
import { chooseTimeouts } from '../upstream/adaptive-timeouts.ts';
import { checkAnswer, isEventStream } from '../relay/answer-check.ts';
import { errorFromOutcome, errorFromUpstreamStatus } from '../relay/upstream-error.ts';
import { readAnswer, writeAnswer } from '../relay/relay-json.ts';
import { awaitFirstData, relayStream, type StreamOptions } from '../relay/relay-sse.ts';
import { SseReader, type SseBatch } from '../relay/sse-reader.ts';
import { modelRewriter } from '../relay/rewrite-model.ts';
import type { AttemptTrace } from '../observe/tracing-types.ts';

/** Largest upstream error body read (bytes): enough for any error message, bounded against a hostile upstream. */
const MAX_ERROR_BODY = 64 * 1024;

export interface AttemptResult {
  outcome: Outcome;
  /** What the client would be told if this attempt is the last (undefined on success or when the client left). */
  error: SpillwayError | undefined;
  /** A data event reached the client: the answer is committed to its text. */
  contentSent: boolean;
  /** How long the upstream took to send its first real token, when it did. */
  firstTokenMs?: number;
}

export interface AttemptDeps {
  config: Config;
  /** The upstreams' connection pools, and what their attempts showed (`pools.timing`, for adaptive timeouts). */
  pools: UpstreamPools;
  clock: Clock;
  log: Logger;
}

/**
 * An attempt that has its first content and nothing has reached the client yet: the winner of a hedge race, or
 * the only runner. `failed` when it ended before that. `span` is the attempt's span (tracing on), ended by whoever
 * finishes or cancels the attempt.
 */
export type Started =
  | { kind: 'failed'; result: AttemptResult }
  | { kind: 'stream'; att: OpenAttempt; reader: SseReader; first: SseBatch; span: AttemptTrace | undefined }
  | { kind: 'json'; att: OpenAttempt; answer: Buffer; usage: Usage | undefined; span: AttemptTrace | undefined };

/**
 * Phase one of an attempt: send, classify the head, and wait for the first content (streams: the first data event;
 * non-stream: the whole answer, checked to be one). Never throws for upstream trouble. A started attempt must be
 * finished or closed.
 */
export async function startAttempt(ctx: RequestContext, lease: Lease, body: Buffer | string, deps: AttemptDeps, cancel?: AbortSignal): Promise<Started> {
  const call = ctx.call;
  if (call === undefined) throw new Error('an attempt needs a call');
  const { upstream } = lease;
  const span = ctx.trace?.attempt(upstream.name, lease.route.model);
  const failed = (outcome: Outcome, status?: number): Started => {
    span?.end(outcome, status);
    return { kind: 'failed', result: { outcome, error: errorFromOutcome(outcome, upstream.name), contentSent: false } };
  };
  const timeouts = chooseTimeouts({
    pinned: upstream.timeouts,
    learned: deps.pools.timing.learned(upstream.name, lease.route.model, call.stream),
    stream: call.stream,
    remainingMs: ctx.deadlineAt - deps.clock.now(),
    retryMayFollow: ctx.attempts + 1 < maxAttempts(deps.config, ctx),
  });
  let att: OpenAttempt;
  try {
    att = await openAttempt(deps.pools, deps.clock, {
      upstream, apiKey: lease.apiKey, path: UPSTREAM_PATH[call.endpoint], body, requestId: ctx.id, deadlineAt: ctx.deadlineAt, timeouts,
      clientGone: ctx.clientGone, cancel, traceHeaders: span?.headers,
    });
  } catch (err) {
    const e = err as AttemptError;
    return failed(classifyError(e.cause, { afterFirstByte: false, timeoutPhase: e.timeoutPhase, clientGone: e.clientGone }));
  }
  const done = (s: Started): Started => {
    if (s.kind === 'failed') {
      learn(deps, lease, call.stream, att, s.result.outcome);
      att.close();
      ctx.upstreamMs += deps.clock.now() - att.startedAt;
    }
    return s;
  };
  const retryAfterMs = parseRetryAfter(att.headers['retry-after'], Date.now());
  if (att.status < 200 || att.status >= 300) {
    const text = await readErrorBody(att);
    const head = classifyStatus(att.status, retryAfterMs, text);
    span?.end(head, att.status);
    return done({ kind: 'failed', result: { outcome: head, error: errorFromUpstreamStatus(att.status, text, retryAfterMs, upstream.name), contentSent: false } });
  }
  if (call.stream) {
    const type = att.headers['content-type'];
    if (!isEventStream(type)) {
      await readErrorBody(att); // read, not destroyed unread: that would raise an abort error nobody listens to
      return done(failed({ kind: 'invalid_answer', detail: `content-type ${String(type).split(';')[0]} instead of text/event-stream` }, att.status));
    }
    const reader = new SseReader(att, deps.config.server.sseComments);
    const first = await awaitFirstData(ctx, reader);
    return done(first.ok ? { kind: 'stream', att, reader, first: first.events, span } : failed(first.outcome, att.status));
  }
  let answer: Buffer;
  try {
    answer = await readAnswer(att);
  } catch (err) {
    const e = err instanceof AttemptError ? err : new AttemptError(err, att.timeoutPhase(), ctx.clientGone.aborted);
    return done(failed(classifyError(e.cause, { afterFirstByte: false, timeoutPhase: e.timeoutPhase, clientGone: e.clientGone, queuedUpstream: e.queuedUpstream }), att.status));
  }
  const checked = checkAnswer(call.endpoint, att.headers['content-type'], answer);
  if (!checked.ok) {
    deps.log.warn({ requestId: ctx.id, upstream: upstream.name, problem: checked.detail }, 'upstream answered 200 with something that is not an answer; not relayed');
    return done(failed({ kind: 'invalid_answer', detail: checked.detail }, att.status));
  }
  return { kind: 'json', att, answer: checked.body, usage: checked.usage, span };
}

/** Attempts the retry settings allow this request (the SDK's own retries count against them). */
function maxAttempts(config: Config, ctx: RequestContext): number {
  const clientRetries = Number(ctx.req.headers['x-stainless-retry-count']) || 0;
  return Math.max(1, config.retry.maxAttempts - clientRetries);
}

/**
 * Feeds the adaptive timeouts: any real time to first token, and the longest silence between chunks of an attempt
 * that finished well (a failed one's longest silence may be the very stall the timeout is for).
 */
function learn(deps: AttemptDeps, lease: Lease, stream: boolean, att: OpenAttempt, outcome: Outcome): void {
  // A stream held in the upstream's queue (keep-alives before its first token) shows the queue, not the upstream.
  const firstTokenMs = stream && att.timer.keepAlives > 0 ? undefined : firstTokenMsOf(att);
  const maxGapMs = outcome.kind === 'ok' ? att.timer.maxGapMs : undefined;
  if (firstTokenMs !== undefined || maxGapMs !== undefined) deps.pools.timing.observe(lease.upstream.name, lease.route.model, stream, { firstTokenMs, maxGapMs });
}

/** Phase two: deliver a started attempt's answer to the client. */
export async function finishAttempt(ctx: RequestContext, s: Exclude<Started, { kind: 'failed' }>, lease: Lease, publicModel: string, stream: Omit<StreamOptions, 'rewrite'>, deps: AttemptDeps): Promise<AttemptResult> {
  const rewrite = modelRewriter(lease.route.model, publicModel);
  let result: AttemptResult | undefined;
  try {
    if (s.kind === 'json') {
      writeAnswer(ctx, s.att, s.answer, s.usage, rewrite);
      result = { outcome: { kind: 'ok' }, error: undefined, contentSent: true, firstTokenMs: firstTokenMsOf(s.att) };
      return result;
    }
    const r = await relayStream(ctx, s.reader, s.att, s.first, { ...stream, rewrite }, deps.clock);
    // Only a stream's keep-alives say "queued": a non-stream answer's blank lines may last its whole generation.
    const outcome: Outcome = r.outcome.kind === 'ok' && s.att.timer.keepAlives > 0 ? { kind: 'ok', queuedUpstream: true } : r.outcome;
    result = { outcome, error: r.outcome.kind === 'ok' ? undefined : errorFromOutcome(r.outcome, lease.upstream.name), contentSent: r.contentSent, firstTokenMs: firstTokenMsOf(s.att) };
    return result;
  } finally {
    learn(deps, lease, s.kind === 'stream', s.att, result?.outcome ?? { kind: 'cancelled' });
    s.span?.end(result?.outcome ?? { kind: 'cancelled' }, s.att.status);
    s.att.close();
    ctx.upstreamMs += deps.clock.now() - s.att.startedAt;
  }
}

/** The attempt's time to first token, for the balancer's latency estimate and the adaptive timeouts. */
function firstTokenMsOf(att: OpenAttempt): number | undefined {
  return att.timer.firstTokenSeenAt === undefined ? undefined : att.timer.firstTokenSeenAt - att.startedAt;
}

async function readErrorBody(att: OpenAttempt): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of att.body) {
      size += c.length;
      if (size > MAX_ERROR_BODY) break;
      chunks.push(c);
    }
  } catch {
    // A broken error body still leaves the status to report.
  }
  return Buffer.concat(chunks).toString('utf8');
}
