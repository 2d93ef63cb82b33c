import type { Clock } from '../clock.ts';
import type { RequestContext, Usage } from '../server/context.ts';
import type { OpenAttempt } from '../upstream/open-attempt.ts';
import type { Outcome } from '../upstream/outcome.ts';
import { answerObject, type AnswerCheck } from './answer-check.ts';
import {
  awaitFirstMessageData,
  eventObject,
  relayNative,
  type FirstMessageData,
  type NativeEvents,
  type NativeRelay,
} from './relay-messages.ts';
import type { SseReader } from './sse-reader.ts';
import type { SseResult } from './relay-sse.ts';

type Json = Record<string, unknown>;

/**
 * A Responses stream from an upstream that serves OpenAI's Responses API, passed through event by event (the
 * Responses door's passthrough; relay-messages.ts is the Messages twin, relay-sse.ts the chat one). The same two
 * commit points:
 *
 *   response.created, response.in_progress, *.added ─ held: not content yet, so a failure here is retried elsewhere
 *   *.delta, *.done ───────────────────────────────▶ content: from here on the answer is the client's
 *   response.completed / response.incomplete ──────▶ the end; a body that ends without one was cut
 *   error, response.failed ────────────────────────▶ before content: a failure the loop may retry (a rate limit or
 *                                                    an overload is pushback); after it: the loop ends the stream
 *                                                    with an in-band `error` event (never a clean end)
 *
 * A cut stream is not continued (the Responses API has no prefill to continue an answer with). The door's response
 * gives the response objects Spillway's id and stores the completed one (responses-translator.ts). Usage is read
 * from the final response.
 */
export function awaitFirstResponsesData(ctx: RequestContext, reader: SseReader): Promise<FirstMessageData> {
  return awaitFirstMessageData(ctx, reader, RESPONSES_EVENTS);
}

const END = new Set(['response.completed', 'response.incomplete']);

const RESPONSES_EVENTS: NativeEvents = {
  content: (type) => type.endsWith('.delta') || type.endsWith('.done') || END.has(type),
  failure: (type, ev) => (type === 'error' || type === 'response.failed' ? errorOutcome(eventObject(ev)) : undefined),
};

/** Relays from the first content event to the final `response.completed` (or `response.incomplete`). */
export function relayResponses(
  ctx: RequestContext,
  reader: SseReader,
  att: OpenAttempt,
  first: string[],
  clock: Clock,
): Promise<SseResult> {
  return relayNative(ctx, reader, att, first, RESPONSES_RELAY, clock);
}

const RESPONSES_RELAY: NativeRelay = {
  ...RESPONSES_EVENTS,
  pass: (_type, ev) => `${ev}\n\n`,
  end: (type) => END.has(type),
  usage: (ev) => responseUsage((eventObject(ev)?.response ?? {}) as Json),
  cutDetail: 'stream ended without response.completed',
};

/**
 * An in-band `error` event (`{code, message}`) or a `response.failed` (its `response.error`) → the attempt's outcome:
 * a rate limit or an overloaded server is the upstream saying busy (pushback), anything else a server failure.
 */
function errorOutcome(data: Json | undefined): Outcome {
  const err = (data?.type === 'response.failed' ? (data.response as Json | undefined)?.error : data) as
    Json | null | undefined;
  const code = typeof err?.code === 'string' ? err.code : '';
  if (code.includes('rate_limit')) return { kind: 'rate_limited', retryAfterMs: undefined };
  if (code.includes('overloaded') || code === 'slow_down')
    return { kind: 'overloaded', status: 503, retryAfterMs: undefined };
  return { kind: 'server_error', status: 200 };
}

/** Responses usage → ours (cached input tokens are inside `input_tokens`, as chat's prompt tokens hold them). */
function responseUsage(r: Json): Usage {
  const u = (r.usage ?? {}) as Json;
  const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const input = n(u.input_tokens);
  const cached = n((u.input_tokens_details as Json | undefined)?.cached_tokens);
  return {
    promptTokens: input,
    completionTokens: n(u.output_tokens),
    promptCacheHitTokens: cached,
    promptCacheMissTokens: input - cached,
  };
}

/**
 * Whether a non-stream 200 from a Responses upstream is a whole Responses answer (`"object":"response"` with an
 * `output` array, not failed), before any of it reaches the client: the chat check's twin (answer-check.ts).
 */
export function checkResponse(contentType: string | string[] | undefined, body: Buffer): AnswerCheck {
  const a = answerObject(contentType, body);
  if (!('obj' in a)) return a;
  const obj = a.obj;
  if (obj.object !== 'response' || !Array.isArray(obj.output))
    return { ok: false, detail: 'JSON that is not a Responses answer' };
  if (obj.status === 'failed' || obj.status === 'cancelled')
    return { ok: false, detail: `a response with status ${String(obj.status)}` };
  return { ok: true, body: a.body, usage: responseUsage(obj) };
}
