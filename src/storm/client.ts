import { request, type Dispatcher } from 'undici';
import { answerText } from '../mock/answer-text.ts';
import { carriesUpstreamBusy } from '../mock/busy-text.ts';
import type { Arrival } from './arrivals.ts';
import { answerFacts, CHAT, scoreAnswer, type Answer } from './score.ts';
import { MESSAGES } from './score-messages.ts';
import type { RequestRecord } from './summary.ts';

export interface StormTarget {
  /** Base URL as an OpenAI SDK takes it, e.g. http://127.0.0.1:8080/v1. */
  baseUrl: string;
  apiKey?: string;
  /** `messages`: send through the Anthropic Messages door (`/v1/messages`) instead of chat completions. */
  door?: 'messages';
}

/**
 * How the storm's clients behave, as real users' clients do:
 *   deadlineHeader  `stainless`: the timeout as `x-stainless-timeout` in seconds (what the official OpenAI SDKs
 *                   send; the default), `spillway`: as `x-spillway-deadline-ms`, `both`
 *   sdkRetries      on a 429/503 with `Retry-After` (≤ 60 s, as the SDKs cap it), retry once at the advertised
 *                   time with `x-stainless-retry-count: 1` and a fresh timeout, as the official SDKs do (they
 *                   send `x-stainless-retry-count: 0` on the first try; clients that never retry send none)
 */
export interface ClientMode {
  deadlineHeader: 'stainless' | 'spillway' | 'both';
  sdkRetries: boolean;
}

export const DEFAULT_CLIENT: ClientMode = { deadlineHeader: 'stainless', sdkRetries: false };

/** The SDKs do not wait longer than this for a Retry-After; neither does the storm client. */
const MAX_RETRY_AFTER_S = 60;

interface Attempt {
  answer: Answer;
  startedAt: number;
  ttftMs: number | undefined;
  endedAt: number;
  retryAfterS: number | undefined;
}

/**
 * Sends one planned request the way an official SDK would, reads the whole answer, and records what a client saw:
 * its verdict against the simulator's deterministic text and the facts of the answer (see score.ts). `t0` is the
 * storm's start on performance.now()'s clock, so arrival and end times line up across requests.
 */
export async function sendArrival(
  dispatcher: Dispatcher,
  target: StormTarget,
  a: Arrival,
  opts: { deadlineS: number; answerSeed: number; t0: number; client?: ClientMode },
): Promise<RequestRecord> {
  const mode = opts.client ?? DEFAULT_CLIENT;
  const started = performance.now();
  const first = await attempt(dispatcher, target, a, opts.deadlineS, mode, 0);
  let last = first;
  let retry: RequestRecord['retry'];
  const ra = first.retryAfterS;
  if (
    mode.sdkRetries &&
    (first.answer.status === 429 || first.answer.status === 503) &&
    ra !== undefined &&
    ra <= MAX_RETRY_AFTER_S
  ) {
    await new Promise((resolve) => setTimeout(resolve, ra * 1000));
    last = await attempt(dispatcher, target, a, opts.deadlineS, mode, 1);
  }
  const expected = answerText(opts.answerSeed, a.prompt, a.maxTokens);
  const format = target.door === 'messages' ? MESSAGES : CHAT;
  const verdict = scoreAnswer(last.answer, expected, format);
  if (last !== first) retry = { afterS: ra ?? 0, ok: verdict.ok, status: last.answer.status };
  const factsOf = (x: Answer) => answerFacts(x, carriesUpstreamBusy, format);
  const firstFacts = factsOf(first.answer);
  const facts = last === first ? firstFacts : factsOf(last.answer);
  const latencyMs = last.endedAt - started;
  return {
    index: a.index,
    priority: a.priority,
    stream: a.stream,
    maxTokens: a.maxTokens,
    ...(a.promptTokens !== undefined && { promptTokens: a.promptTokens }),
    sentAtMs: a.atMs,
    arrivalMs: started - opts.t0,
    endMs: last.endedAt - opts.t0,
    latencyMs,
    ttftMs: last.ttftMs === undefined ? undefined : last.startedAt - started + last.ttftMs,
    verdict,
    outcome: verdict.ok ? 'ok' : verdict.reason,
    status: last.answer.status,
    errorCode: facts.errorCode,
    complete: verdict.ok,
    invalidBody: facts.invalidBody,
    silentTruncation: facts.silentTruncation,
    upstreamBusy: firstFacts.upstreamBusy || facts.upstreamBusy,
    refusalMs: firstFacts.refusal ? first.endedAt - started : undefined,
    pastDeadline: first.answer.clientError === 'deadline' || last.answer.clientError === 'deadline',
    retry,
  };
}

async function attempt(
  dispatcher: Dispatcher,
  target: StormTarget,
  a: Arrival,
  deadlineS: number,
  mode: ClientMode,
  retryCount: number,
): Promise<Attempt> {
  const started = performance.now();
  let ttftMs: number | undefined;
  let retryAfterS: number | undefined;
  const answer: Answer = { status: 0, stream: a.stream, body: '' };
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-spillway-priority': a.priority };
  if (mode.deadlineHeader !== 'spillway') headers['x-stainless-timeout'] = String(deadlineS);
  if (mode.deadlineHeader !== 'stainless') headers['x-spillway-deadline-ms'] = String(Math.round(deadlineS * 1000));
  // The official SDKs count every try, the first as 0; clients that never retry (the default mode) send none.
  if (mode.sdkRetries) headers['x-stainless-retry-count'] = String(retryCount);
  if (target.apiKey !== undefined) headers.authorization = `Bearer ${target.apiKey}`;
  const body = JSON.stringify({
    model: a.model,
    messages: [{ role: 'user', content: a.prompt }],
    max_tokens: a.maxTokens,
    stream: a.stream,
  });
  const chunks: string[] = [];
  try {
    const res = await request(`${target.baseUrl}${target.door === 'messages' ? '/messages' : '/chat/completions'}`, {
      method: 'POST',
      headers,
      body,
      dispatcher,
      signal: AbortSignal.timeout(deadlineS * 1000),
    });
    answer.status = res.statusCode;
    const ra = Number(res.headers['retry-after']);
    if (res.headers['retry-after'] !== undefined && Number.isFinite(ra) && ra >= 0) retryAfterS = ra;
    res.body.setEncoding('utf8');
    for await (const chunk of res.body as AsyncIterable<string>) {
      if (ttftMs === undefined && (a.stream ? /(^|\n)data:/.test(chunk) : chunk.trim() !== ''))
        ttftMs = performance.now() - started;
      chunks.push(chunk);
    }
  } catch (err) {
    const name = (err as { name?: string }).name;
    answer.clientError = name === 'TimeoutError' || name === 'AbortError' ? 'deadline' : 'connection';
  }
  answer.body = chunks.join('');
  return { answer, startedAt: started, ttftMs, endedAt: performance.now(), retryAfterS };
}
