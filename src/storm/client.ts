import { request, type Dispatcher } from 'undici';
import { answerText } from '../mock/answer-text.ts';
import type { Arrival } from './arrivals.ts';
import { scoreAnswer, type Answer } from './score.ts';
import { scoreMessagesAnswer } from './score-messages.ts';
import type { RequestRecord } from './summary.ts';

export interface StormTarget {
  /** Base URL as an OpenAI SDK takes it, e.g. http://127.0.0.1:8080/v1. */
  baseUrl: string;
  apiKey?: string;
  /** `messages`: send through the Anthropic Messages door (`/v1/messages`) instead of chat completions. */
  door?: 'messages';
}

/**
 * Sends one planned request the way an official SDK would (its timeout as x-stainless-timeout, no SDK retries),
 * reads the whole answer, and scores it against the simulator's deterministic text.
 */
export async function sendArrival(dispatcher: Dispatcher, target: StormTarget, a: Arrival, deadlineS: number, answerSeed: number): Promise<RequestRecord> {
  const started = performance.now();
  let ttftMs: number | undefined;
  const answer: Answer = { status: 0, stream: a.stream, body: '' };
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-stainless-timeout': String(deadlineS),
    'x-spillway-priority': a.priority,
  };
  if (target.apiKey !== undefined) headers.authorization = `Bearer ${target.apiKey}`;
  const body = JSON.stringify({ model: a.model, messages: [{ role: 'user', content: a.prompt }], max_tokens: a.maxTokens, stream: a.stream });
  const messages = target.door === 'messages';
  try {
    const res = await request(`${target.baseUrl}${messages ? '/messages' : '/chat/completions'}`, {
      method: 'POST', headers, body, dispatcher, signal: AbortSignal.timeout(deadlineS * 1000),
    });
    answer.status = res.statusCode;
    const chunks: string[] = [];
    res.body.setEncoding('utf8');
    for await (const chunk of res.body as AsyncIterable<string>) {
      if (ttftMs === undefined && (a.stream ? /(^|\n)data:/.test(chunk) : chunk.trim() !== '')) ttftMs = performance.now() - started;
      chunks.push(chunk);
    }
    answer.body = chunks.join('');
  } catch (err) {
    const name = (err as { name?: string }).name;
    answer.clientError = name === 'TimeoutError' || name === 'AbortError' ? 'deadline' : 'connection';
  }
  return {
    priority: a.priority,
    stream: a.stream,
    latencyMs: performance.now() - started,
    ttftMs,
    verdict: (messages ? scoreMessagesAnswer : scoreAnswer)(answer, answerText(answerSeed, a.prompt, a.maxTokens)),
    sentAtMs: a.atMs,
  };
}
