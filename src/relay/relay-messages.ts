import type { Clock } from '../clock.ts';
import type { RequestContext, Usage } from '../server/context.ts';
import type { OpenAttempt } from '../upstream/open-attempt.ts';
import type { Outcome } from '../upstream/outcome.ts';
import { dataOf } from './sse-events.ts';
import { answerObject, type AnswerCheck } from './answer-check.ts';
import { eventsOf, type SseReader } from './sse-reader.ts';
import { MessagesSplice } from './messages-splice.ts';
import type { MessagesText } from './messages-text.ts';
import { streamFailure, writeEvents, type SseResult } from './relay-sse.ts';

/** The events from the first content on, or why the attempt failed before it. */
export type FirstMessageData = { ok: true; events: string[] } | { ok: false; outcome: Outcome };

/** The reader's next batch as events, one by one (this relay reads every event). */
async function nextEvents(reader: SseReader): Promise<string[] | null> {
  const batch = await reader.next();
  return batch === null ? null : eventsOf(batch);
}

/**
 * A Messages stream from an upstream that serves the Anthropic Messages API, passed through event by event (the
 * Messages door's passthrough; relay-sse.ts is the chat-completions twin). The same two commit points:
 *
 *   message_start, ping, content_block_start ─ held: not content yet, so a failure here is retried elsewhere
 *   content_block_delta, message_delta ────────▶ content: from here on the answer is the client's
 *   message_stop ──────────────────────────────▶ the end; a body that ends without it was cut
 *   event: error ──────────────────────────────▶ before content: a failure the loop may retry (an overloaded_error is
 *                                                pushback); after it: the loop ends the stream with an in-band error
 *
 * The stall detection is the attempt's timer, as for chat streams: the reader feeds it, and a `ping` is activity
 * but never a first token. Usage is read from message_start (input) and message_delta (output).
 */
export async function awaitFirstMessageData(
  ctx: RequestContext,
  reader: SseReader,
  protocol: NativeEvents = MESSAGES_EVENTS,
): Promise<FirstMessageData> {
  const held: string[] = [];
  try {
    for (;;) {
      const batch = await nextEvents(reader);
      if (batch === null)
        return { ok: false, outcome: { kind: 'invalid_answer', detail: 'stream ended before its first content' } };
      let comments = '';
      for (let k = 0; k < batch.length; k++) {
        const ev = batch[k] as string;
        const type = eventType(ev);
        if (type === undefined) {
          comments += `${ev}\n\n`;
          continue;
        }
        const failed = protocol.failure(type, ev);
        if (failed !== undefined) return { ok: false, outcome: failed };
        if (protocol.content(type) || held.length >= MAX_HELD)
          return { ok: true, events: [...held, ...batch.slice(k)] };
        held.push(ev);
      }
      // Comments (keep-alives) are passed on as they come, like the chat relay's: they are not the answer.
      if (held.length === 0) await writeEvents(ctx, comments);
    }
  } catch (err) {
    return { ok: false, outcome: streamFailure(ctx, err, false) };
  }
}

/**
 * Mid-stream recovery for a passed-through Messages stream (retry/stream-continuation.ts decides): `track` records
 * what reaches the client, and on a continuation (`continuing`) the upstream's events are spliced into the client's
 * message (messages-splice.ts) rather than passed on as they are.
 */
export interface MessagesStreamOptions {
  track: MessagesText | undefined;
  continuing: boolean;
}

/**
 * What a passed-through stream's relay does with each event after the first content (`relayNative`): the door's
 * event protocol, and per event the text that goes to the client (usage read on the way).
 */
export interface NativeRelay extends NativeEvents {
  /** The text sent for an event (`type` undefined: a comment), with its separator. */
  pass(type: string | undefined, ev: string): string;
  /** Whether the event ends the answer. */
  end(type: string): boolean;
  /** The answer's usage, once its end event `ev` is in. */
  usage(ev: string): Usage;
  /** Why a body that ends without the end event was cut. */
  cutDetail: string;
}

/**
 * The passthrough relays' loop (Messages here, Responses in relay-responses.ts): from the first content event to the
 * end event, a batch of events written as one. An upstream failure event ends the attempt with what came before it
 * in its batch delivered, as `pass` has already recorded it for a continuation. `continuing`: content was sent
 * before this attempt, so a cut of it is a cut after content.
 */
export async function relayNative(
  ctx: RequestContext,
  reader: SseReader,
  att: OpenAttempt,
  first: string[],
  relay: NativeRelay,
  clock: Clock,
  continuing = false,
): Promise<SseResult> {
  let contentSent = false;
  const sent = (): boolean => contentSent || continuing;
  let batch: string[] | null = first;
  try {
    while (batch !== null) {
      let out = '';
      for (const ev of batch) {
        const type = eventType(ev);
        if (type !== undefined) {
          const failed = relay.failure(type, ev);
          if (failed !== undefined) {
            await writeEvents(ctx, out);
            return { outcome: failed, contentSent: sent() };
          }
          if (!contentSent && relay.content(type)) {
            contentSent = true;
            att.timer.firstToken();
            ctx.ttftMs ??= clock.now() - ctx.startedAt;
          }
        }
        out += relay.pass(type, ev);
        if (type !== undefined && relay.end(type)) {
          ctx.usage = relay.usage(ev);
          await writeEvents(ctx, out);
          ctx.res.end();
          return { outcome: { kind: 'ok' }, contentSent: true };
        }
      }
      await writeEvents(ctx, out);
      batch = await nextEvents(reader);
    }
  } catch (err) {
    return { outcome: streamFailure(ctx, err, true), contentSent: sent() };
  }
  if (ctx.clientGone.aborted) return { outcome: { kind: 'cancelled' }, contentSent: sent() };
  return { outcome: { kind: 'reset', afterFirstByte: true, detail: relay.cutDetail }, contentSent: sent() };
}

/** Relays from the first content event to message_stop, renaming the model in message_start. */
export function relayMessages(
  ctx: RequestContext,
  reader: SseReader,
  att: OpenAttempt,
  first: string[],
  opts: MessagesStreamOptions & { rewrite: ((t: string) => string) | undefined },
  clock: Clock,
): Promise<SseResult> {
  const { rewrite, track } = opts;
  const splice = opts.continuing && track !== undefined ? new MessagesSplice(track) : undefined;
  const usage: Usage = { promptTokens: 0, completionTokens: 0, promptCacheHitTokens: 0 };
  const relay: NativeRelay = {
    ...MESSAGES_EVENTS,
    pass: (type, ev) => {
      let text = `${ev}\n\n`;
      // Parsed only where read: usage, and every event of a stream that may be continued.
      const data =
        type === 'message_start' || type === 'message_delta' || (track !== undefined && type !== undefined)
          ? eventObject(ev)
          : undefined;
      if (type === 'message_start') {
        if (rewrite !== undefined) text = `${rewrite(ev)}\n\n`;
        addUsage(usage, (data?.message as Record<string, unknown> | undefined)?.usage);
      } else if (type === 'message_delta') addUsage(usage, data?.usage);
      if (type !== undefined && type !== '') {
        if (splice !== undefined) text = splice.map(type, ev, data);
        if (track !== undefined) recordEach(track, text, splice === undefined ? data : undefined);
      }
      return text;
    },
    end: (type) => type === 'message_stop',
    usage: () => usage,
    cutDetail: 'stream ended without message_stop',
  };
  return relayNative(ctx, reader, att, first, relay, clock, opts.continuing);
}

/**
 * Records the events that went to the client for one upstream event: itself (its data already parsed), or, on a
 * continuation, what the splice made of it (none, one or two events, parsed again: a continuation is rare).
 */
function recordEach(track: MessagesText, text: string, parsed: Record<string, unknown> | undefined): void {
  for (const ev of text.split('\n\n')) {
    if (ev === '') continue;
    const type = eventType(ev);
    if (type !== undefined) track.record(type, parsed ?? eventObject(ev));
  }
}

/** Events that carry the answer (the ones before them only announce it). */
const CONTENT = new Set(['content_block_delta', 'message_delta', 'message_stop']);

/**
 * How a passed-through stream's events read, for the wait for its first content (this file's Messages one, and
 * relay-responses.ts's): which types carry the answer, and which say the attempt failed (its outcome).
 */
export interface NativeEvents {
  content(type: string): boolean;
  failure(type: string, ev: string): Outcome | undefined;
}

const MESSAGES_EVENTS: NativeEvents = {
  content: (type) => CONTENT.has(type),
  failure: (type, ev) => (type === 'error' ? errorOutcome(ev) : undefined),
};
/** Announcing events held before content before they are let through anyway (bounds a hostile upstream). */
const MAX_HELD = 64;

/** The event's type: its `event:` line, else its data's `type` (undefined for a comment). */
function eventType(ev: string): string | undefined {
  if (ev.startsWith('event:')) {
    const end = ev.indexOf('\n');
    return ev.slice(6, end < 0 ? undefined : end).trim();
  }
  const t = eventObject(ev)?.type;
  return typeof t === 'string' ? t : dataOf(ev) === undefined ? undefined : '';
}

/** The event's data as a JSON object (undefined for a comment or data that is not one). */
export function eventObject(ev: string): Record<string, unknown> | undefined {
  const data = dataOf(ev);
  if (data === undefined) return undefined;
  try {
    const j = JSON.parse(data) as unknown;
    return j !== null && typeof j === 'object' && !Array.isArray(j) ? (j as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** An in-band error event: Anthropic's `overloaded_error` is the upstream saying busy (pushback), anything else a failure. */
function errorOutcome(ev: string): Outcome {
  const type = (eventObject(ev)?.error as { type?: unknown } | undefined)?.type;
  if (type === 'overloaded_error') return { kind: 'overloaded', status: 529, retryAfterMs: undefined };
  return { kind: 'server_error', status: 200 };
}

/** Anthropic usage → ours: cache reads are apart from input_tokens there, inside prompt tokens here. */
function addUsage(u: Usage, raw: unknown): void {
  if (raw === null || typeof raw !== 'object') return;
  const o = raw as Record<string, unknown>;
  const n = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const input = n(o.input_tokens);
  const read = n(o.cache_read_input_tokens);
  const created = n(o.cache_creation_input_tokens);
  if (input !== undefined || read !== undefined || created !== undefined) {
    u.promptTokens = (input ?? 0) + (read ?? 0) + (created ?? 0);
    u.promptCacheHitTokens = read ?? 0;
    if (read !== undefined) u.promptCacheMissTokens = u.promptTokens - (read ?? 0);
  }
  const output = n(o.output_tokens);
  if (output !== undefined) u.completionTokens = output;
}

/** Anthropic usage of a whole Messages answer, as ours. */
export function messageUsage(answer: Record<string, unknown>): Usage {
  const u: Usage = { promptTokens: 0, completionTokens: 0, promptCacheHitTokens: 0 };
  addUsage(u, answer.usage);
  return u;
}

/**
 * Whether a non-stream 200 from a Messages upstream is a Messages answer (`"type":"message"` with a `content`
 * array), before any of it reaches the client: the chat check's twin (answer-check.ts), for the same reasons.
 */
export function checkMessage(contentType: string | string[] | undefined, body: Buffer): AnswerCheck {
  const a = answerObject(contentType, body);
  if (!('obj' in a)) return a;
  const obj = a.obj;
  if (obj.type !== 'message' || !Array.isArray(obj.content))
    return {
      ok: false,
      detail: obj.type === 'error' ? 'an error object with status 200' : 'JSON that is not a Messages answer',
    };
  return { ok: true, body: a.body, usage: messageUsage(obj) };
}
