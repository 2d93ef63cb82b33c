import type { Clock } from '../clock.ts';
import type { Config } from '../config/types.ts';
import type { Lease } from '../balance/lease.ts';
import type { SpillwayError } from '../errors.ts';
import type { Logger } from '../observe/log.ts';
import type { Call, RequestContext, Usage } from '../server/context.ts';
import { sdkRetryCount } from '../server/deadline.ts';
import { UPSTREAM_PATH } from '../api/endpoints.ts';
import { maxTokensOf, offersTools, requestShape } from '../api/parse-call.ts';
import type { RequestShape } from '../upstream/timeout-learner.ts';
import { AttemptError, openAttempt, type OpenAttempt } from '../upstream/open-attempt.ts';
import { classifyError, classifyStatus, parseRetryAfter } from '../upstream/classify.ts';
import type { Outcome } from '../upstream/outcome.ts';
import type { UpstreamPools } from '../upstream/pools.ts';
import { chooseTimeouts, promptSizeFactor } from '../upstream/adaptive-timeouts.ts';
import { promptTokensOf } from '../admission/estimate-tokens.ts';
import type { PaceWatch } from '../upstream/stream-pace.ts';
import { checkAnswer, isEventStream } from '../relay/answer-check.ts';
import { errorFromOutcome, errorFromUpstreamStatus } from '../relay/upstream-error.ts';
import { readAnswer, writeAnswer } from '../relay/relay-json.ts';
import { awaitFirstData, relayStream, type StreamOptions } from '../relay/relay-sse.ts';
import { SseReader, type SseBatch } from '../relay/sse-reader.ts';
import {
  awaitFirstMessageData,
  checkMessage,
  relayMessages,
  type MessagesStreamOptions,
} from '../relay/relay-messages.ts';
import { awaitFirstResponsesData, checkResponse, relayResponses } from '../relay/relay-responses.ts';
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
  /** The answer was a stream: `firstTokenMs` is its first content, not the whole answer's arrival. */
  streamed?: boolean;
  /** A whole answer's generated tokens, as its usage tells. */
  answerTokens?: number | undefined;
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
  // A chat stream's first content is a batch of bytes (the byte relay); a Messages stream's, its events one by one.
  | {
      kind: 'stream';
      att: OpenAttempt;
      reader: SseReader;
      first: SseBatch | string[];
      span: AttemptTrace | undefined;
      messages: boolean;
    }
  | {
      kind: 'json';
      att: OpenAttempt;
      answer: Buffer;
      usage: Usage | undefined;
      span: AttemptTrace | undefined;
      messages: boolean;
    };

/** How an attempt starts: cancelled by a hedge race, cut for a crawl (PaceCut), passed through as Messages. */
export interface StartOptions {
  cancel?: AbortSignal | undefined;
  pace?: PaceCut | undefined;
  messages?: boolean;
}

/**
 * Phase one of an attempt: send, classify the head, and wait for the first content (streams: the first data event;
 * non-stream: the whole answer, checked to be one). Never throws for upstream trouble. A started attempt must be
 * finished or closed. `opts.messages`: the door's request passed through to an upstream that serves the door's API
 * (its answer is in that API, relayed as it is: relay-messages.ts for Messages, relay-responses.ts for Responses).
 */
export async function startAttempt(
  ctx: RequestContext,
  lease: Lease,
  body: Buffer | string,
  deps: AttemptDeps,
  opts: StartOptions = {},
): Promise<Started> {
  const { cancel, pace, messages = false } = opts;
  const call = ctx.call;
  if (call === undefined) throw new Error('an attempt needs a call');
  const { upstream } = lease;
  const span = ctx.trace?.attempt(upstream.name, lease.route.model);
  const timeouts = attemptTimeouts(ctx, call, lease, deps, pace);
  let att: OpenAttempt;
  try {
    att = await openAttempt(deps.pools, deps.clock, {
      upstream,
      apiKey: lease.apiKey,
      path: UPSTREAM_PATH[call.endpoint],
      body,
      requestId: ctx.id,
      deadlineAt: ctx.deadlineAt,
      timeouts,
      clientGone: ctx.clientGone,
      cancel,
      traceHeaders: span?.headers,
      messages: messages && call.native?.api === 'anthropic' ? call.native.headers : undefined,
      responses: messages && call.native?.api === 'responses',
    });
  } catch (err) {
    const e = err as AttemptError;
    return failedStart(
      span,
      upstream.name,
      classifyError(e.cause, { afterFirstByte: false, timeoutPhase: e.timeoutPhase, clientGone: e.clientGone }),
    );
  }
  const s = await firstContent({ ctx, call, att, upstream: upstream.name, span, deps, messages });
  if (s.kind === 'failed') {
    learn(deps, lease, call, att, s.result.outcome);
    att.close();
    ctx.upstreamMs += deps.clock.now() - att.startedAt;
  }
  return s;
}

/** An attempt that ended before its first content: its span ends, and the client would hear `outcome`. */
function failedStart(span: AttemptTrace | undefined, upstream: string, outcome: Outcome, status?: number): Started {
  span?.end(outcome, status);
  return { kind: 'failed', result: { outcome, error: errorFromOutcome(outcome, upstream), contentSent: false } };
}

/** This attempt's timeouts: learned or pinned, bounded by the deadline, and the pace watch where it may cut. */
function attemptTimeouts(ctx: RequestContext, call: Call, lease: Lease, deps: AttemptDeps, pace: PaceCut | undefined) {
  const { upstream, route } = lease;
  const retryMayFollow = ctx.attempts + 1 < maxAttempts(deps.config, ctx);
  const shape = requestShape(call.body);
  const learnedNow = () => deps.pools.timing.learned(upstream.name, route.model, call.stream, shape);
  const now = deps.clock.now();
  const tools = call.stream && offersTools(call.body);
  const input = {
    pinned: upstream.timeouts,
    learned: learnedNow(),
    stream: call.stream,
    remainingMs: ctx.deadlineAt - now,
    retryMayFollow,
    maxTokens: maxTokensOf(call.body),
    promptTokens: promptTokensOf(call.body),
    quietForMs: now - deps.pools.get(upstream.name).heard.lastByteAt,
    offersTools: tools,
    // Read only where it is used: a stream that may fall silent while a tool call is written whole.
    tokenGapMs: tools ? deps.pools.timing.pace(upstream.name, route.model, shape)?.typicalGapMs : undefined,
    // The continuation stage passes a pace watch only where a cut is continued exactly (stream-continuation.ts).
    exactRecovery: pace !== undefined && retryMayFollow,
  };
  const chosen = chooseTimeouts(input);
  // A cold idle timeout is asked again while the attempt runs: its upstream's gaps may be known by its first stall.
  const cold = upstream.timeouts.idleMs === null && input.learned.gapMs === undefined;
  const learnedIdle = !cold
    ? undefined
    : () => {
        const learned = learnedNow();
        return learned.gapMs === undefined ? undefined : chooseTimeouts({ ...input, learned });
      };
  // A continuation elsewhere prefills the prompt again: its first token is as much slower as the prompt is longer.
  const resumeFactor = promptSizeFactor(input.promptTokens, input.learned.promptTokens);
  // How long this prompt may keep its upstream reading it (the answers in flight there wait that long: attempt-timer.ts):
  // a stream's first token; for a whole answer, the first token a stream of the same prompt would be allowed.
  const prefillMs = call.stream
    ? chosen.firstTokenMs
    : chooseTimeouts({
        ...input,
        stream: true,
        learned: deps.pools.timing.learned(upstream.name, route.model, true, shape),
      }).firstTokenMs;
  return {
    ...chosen,
    prefillMs,
    wholeAnswer: !call.stream,
    learnedIdle,
    pace: call.stream && retryMayFollow ? paceWatch(deps, lease, pace, { resumeFactor, shape }) : undefined,
  };
}

/** An attempt whose head has come, as its first content is awaited. */
interface Opened {
  ctx: RequestContext;
  call: Call;
  att: OpenAttempt;
  upstream: string;
  span: AttemptTrace | undefined;
  deps: AttemptDeps;
  messages: boolean;
}

/** The head classified, then the first content awaited; a failure here leaves closing the attempt to the caller. */
async function firstContent(o: Opened): Promise<Started> {
  const { att, span, upstream } = o;
  if (att.status < 200 || att.status >= 300) {
    const retryAfterMs = parseRetryAfter(att.headers['retry-after'], Date.now());
    const text = await readErrorBody(att);
    const head = classifyStatus(att.status, retryAfterMs, text);
    span?.end(head, att.status);
    const error = errorFromUpstreamStatus(att.status, text, retryAfterMs, upstream);
    return { kind: 'failed', result: { outcome: head, error, contentSent: false } };
  }
  return o.call.stream ? firstEvents(o) : wholeAnswer(o);
}

/** A stream's first content event (a role-only opening is not content yet: relay-sse.ts). */
async function firstEvents(o: Opened): Promise<Started> {
  const { ctx, att, span, upstream, messages } = o;
  const type = att.headers['content-type'];
  if (!isEventStream(type)) {
    await readErrorBody(att); // read, not destroyed unread: that would raise an abort error nobody listens to
    const detail = `content-type ${String(type).split(';')[0]} instead of text/event-stream`;
    return failedStart(span, upstream, { kind: 'invalid_answer', detail }, att.status);
  }
  const reader = new SseReader(att, o.deps.config.server.sseComments);
  const first = !messages
    ? await awaitFirstData(ctx, reader)
    : o.call.native?.api === 'responses'
      ? await awaitFirstResponsesData(ctx, reader)
      : await awaitFirstMessageData(ctx, reader);
  return first.ok
    ? { kind: 'stream', att, reader, first: first.events, span, messages }
    : failedStart(span, upstream, first.outcome, att.status);
}

/** A non-stream answer, whole, checked to be one before anything of it is relayed. */
async function wholeAnswer(o: Opened): Promise<Started> {
  const { ctx, att, span, upstream, messages } = o;
  let answer: Buffer;
  try {
    answer = await readAnswer(att);
  } catch (err) {
    const e = err instanceof AttemptError ? err : new AttemptError(err, att.timeoutPhase(), ctx.clientGone.aborted);
    const { timeoutPhase, clientGone, queuedUpstream } = e;
    const outcome = classifyError(e.cause, { afterFirstByte: false, timeoutPhase, clientGone, queuedUpstream });
    return failedStart(span, upstream, outcome, att.status);
  }
  const type = att.headers['content-type'];
  const checked = !messages
    ? checkAnswer(o.call.endpoint, type, answer)
    : o.call.native?.api === 'responses'
      ? checkResponse(type, answer)
      : checkMessage(type, answer);
  if (!checked.ok) {
    const problem = checked.detail;
    o.deps.log.warn(
      { requestId: ctx.id, upstream, problem },
      'upstream answered 200 with something that is not an answer; not relayed',
    );
    return failedStart(span, upstream, { kind: 'invalid_answer', detail: problem }, att.status);
  }
  return { kind: 'json', att, answer: checked.body, usage: checked.usage, span, messages };
}

/**
 * The dispatch loop's word that a too-slow stream may be cut (it could be continued exactly elsewhere), with the
 * tokens the request may still produce (undefined: it set no `max_tokens`).
 */
export interface PaceCut {
  tokensLeft: number | undefined;
}

/** What the pace cut measures this attempt against, as learned now; undefined when it may not cut. */
function paceWatch(
  deps: AttemptDeps,
  lease: Lease,
  pace: PaceCut | undefined,
  of: { resumeFactor: number; shape: RequestShape },
): (() => PaceWatch | undefined) | undefined {
  if (pace === undefined) return undefined;
  // Asked on every data batch: once learned, the yardstick is kept for the rest of the attempt (it drifts slowly).
  let watch: PaceWatch | undefined;
  return () => {
    if (watch !== undefined) return watch;
    const learned = deps.pools.timing.pace(lease.upstream.name, lease.route.model, of.shape);
    if (learned === undefined) return undefined;
    const usual = Math.max(1, Math.round(learned.usualEvents));
    watch = {
      typicalGapMs: learned.typicalGapMs,
      expectedEvents: pace.tokensLeft === undefined ? usual : Math.min(pace.tokensLeft, usual),
      resumeMs: learned.typicalFirstTokenMs === undefined ? undefined : learned.typicalFirstTokenMs * of.resumeFactor,
    };
    return watch;
  };
}

/**
 * Attempts the retry settings allow this request (the SDK's own retries count against them). A count below 0 is no
 * SDK's: it never buys attempts beyond the settings.
 */
export function maxAttempts(config: Config, ctx: RequestContext): number {
  const clientRetries = Math.max(0, sdkRetryCount(ctx.req.headers) || 0);
  return Math.max(1, config.retry.maxAttempts - clientRetries);
}

/**
 * Feeds the adaptive timeouts: any real time to first token, and the longest silence between chunks of an attempt
 * that finished well (a failed one's longest silence may be the very stall the timeout is for).
 */
function learn(
  deps: AttemptDeps,
  lease: Lease,
  call: { stream: boolean; body?: Record<string, unknown> | undefined },
  att: OpenAttempt,
  outcome: Outcome,
  usage?: Usage,
): void {
  const stream = call.stream;
  // An attempt held in the upstream's queue (keep-alives before a stream's first token, or found waiting its turn
  // there: attempt-timer.ts) shows the queue, not the upstream.
  const queued = (stream && att.timer.keepAlives > 0) || att.timer.queuedSilently;
  const firstTokenMs = queued ? undefined : firstTokenMsOf(att);
  const maxGapMs = outcome.kind === 'ok' ? att.timer.maxGapMs : undefined;
  const meanGapMs = outcome.kind === 'ok' && stream ? att.timer.meanGapMs : undefined;
  const pace = meanGapMs === undefined ? undefined : { meanGapMs, events: att.timer.eventsAfterFirst + 1 };
  const tokens = usage?.completionTokens;
  const msPerToken =
    !stream && outcome.kind === 'ok' && firstTokenMs !== undefined && typeof tokens === 'number' && tokens > 0
      ? firstTokenMs / tokens
      : undefined;
  if (firstTokenMs !== undefined || maxGapMs !== undefined)
    deps.pools.timing.observe(
      lease.upstream.name,
      lease.route.model,
      stream,
      {
        firstTokenMs,
        maxGapMs,
        pace,
        msPerToken,
        promptTokens: call.body === undefined ? undefined : promptTokensOf(call.body),
        answerTokens: msPerToken === undefined ? undefined : tokens,
      },
      call.body === undefined ? 'plain' : requestShape(call.body),
    );
}

/** Phase two: deliver a started attempt's answer to the client. */
export async function finishAttempt(
  ctx: RequestContext,
  s: Exclude<Started, { kind: 'failed' }>,
  lease: Lease,
  publicModel: string,
  stream: Omit<StreamOptions, 'rewrite'> & { messages: MessagesStreamOptions },
  deps: AttemptDeps,
): Promise<AttemptResult> {
  const rewrite = modelRewriter(lease.route.model, publicModel);
  let result: AttemptResult | undefined;
  // The door's response translates chat answers; a passed-through Messages answer goes out as it is.
  ctx.call?.native?.passThrough(s.messages);
  try {
    if (s.kind === 'json') {
      writeAnswer(ctx, s.att, s.answer, s.usage, rewrite);
      result = wholeAnswerResult(s.att, s.usage);
      return result;
    }
    const r = !Array.isArray(s.first)
      ? await relayStream(ctx, s.reader, s.att, s.first, { ...stream, rewrite }, deps.clock)
      : ctx.call?.native?.api === 'responses'
        ? await relayResponses(ctx, s.reader, s.att, s.first, deps.clock)
        : await relayMessages(ctx, s.reader, s.att, s.first, { ...stream.messages, rewrite }, deps.clock);
    // Only a stream's keep-alives say "queued": a non-stream answer's blank lines may last its whole generation.
    const outcome: Outcome =
      r.outcome.kind === 'ok' && s.att.timer.keepAlives > 0 ? { kind: 'ok', queuedUpstream: true } : r.outcome;
    result = {
      outcome,
      error: r.outcome.kind === 'ok' ? undefined : errorFromOutcome(r.outcome, lease.upstream.name),
      contentSent: r.contentSent,
      firstTokenMs: firstTokenMsOf(s.att),
      streamed: true,
    };
    return result;
  } finally {
    learn(
      deps,
      lease,
      { stream: s.kind === 'stream', body: ctx.call?.body },
      s.att,
      result?.outcome ?? { kind: 'cancelled' },
      s.kind === 'json' ? s.usage : undefined,
    );
    s.span?.end(result?.outcome ?? { kind: 'cancelled' }, s.att.status);
    s.att.close();
    ctx.upstreamMs += deps.clock.now() - s.att.startedAt;
  }
}

/** A whole answer written to the client: its time, and its length as its usage tells (silent-whole.ts). */
function wholeAnswerResult(att: OpenAttempt, usage: Usage | undefined): AttemptResult {
  const answerTokens = usage?.completionTokens;
  return {
    outcome: { kind: 'ok' },
    error: undefined,
    contentSent: true,
    firstTokenMs: firstTokenMsOf(att),
    answerTokens,
  };
}

/** The attempt's time to first token, for the balancer's latency estimate and the adaptive timeouts. */
function firstTokenMsOf(att: OpenAttempt): number | undefined {
  return att.timer.firstTokenSeenAt === undefined ? undefined : att.timer.firstTokenSeenAt - att.startedAt;
}

async function readErrorBody(att: OpenAttempt): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    // undici hands the body as Buffers (no encoding is ever set on it).
    for await (const c of att.body as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_ERROR_BODY) break;
      chunks.push(c);
    }
  } catch {
    // A broken error body still leaves the status to report.
  }
  return Buffer.concat(chunks).toString('utf8');
}
