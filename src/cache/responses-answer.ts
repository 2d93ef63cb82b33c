import { SseEventSplitter, dataOf } from '../relay/sse-events.ts';
import type { Answer } from './landed-answer.ts';

/**
 * The answer cache's Responses form, for the Responses door's requests that may be passed through to an upstream
 * that serves the Responses API (their answers are Responses objects, whichever route answered: a translated
 * attempt is translated by the flight's own door response). The twin of messages-answer.ts:
 *
 *   Responses stream ─ its response.completed's response ─▶ Responses JSON (stored) ─ replayResponseStream ─▶ stream
 *
 * No assembler is needed: a Responses stream ends with the whole response. A replayed or stored answer goes out
 * through the client's own door response, which gives it a fresh Spillway id and stores it for that client
 * (responses-translator.ts), as a translated answer served from the cache gets one.
 */
type Json = Record<string, unknown>;

/** Stored only when whole: a response that completed (or stopped at its max_output_tokens), with its output. */
export function isCompleteResponse(a: unknown): a is Json {
  if (a === null || typeof a !== 'object' || Array.isArray(a)) return false;
  const r = a as Json;
  return r.object === 'response' && Array.isArray(r.output) && (r.status === 'completed' || r.status === 'incomplete');
}

/** The complete Responses answer a flight brought back, as JSON text, or undefined when there is none to keep. */
export function landedResponse(status: number, body: string, stream: boolean): Answer | undefined {
  if (status !== 200) return undefined;
  let answer: unknown;
  if (stream) {
    for (const ev of new SseEventSplitter().push(body).split('\n\n')) {
      const data = ev === '' ? undefined : dataOf(ev);
      const e = data === undefined ? undefined : parse(data);
      if (e?.type === 'error' || e?.type === 'response.failed') return undefined;
      if (e?.type === 'response.completed' || e?.type === 'response.incomplete') answer = e.response;
    }
  } else answer = parse(body);
  if (!isCompleteResponse(answer)) return undefined;
  return { body: stream ? JSON.stringify(answer) : body, usage: typeof answer.usage === 'object' };
}

function parse(text: string): Json | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A stored Responses answer replayed as the stream the Responses API sends: response.created and in_progress (no
 * output yet), each output item added, its text (arguments, summary) given whole in one delta, done; then
 * response.completed (or incomplete) with the whole response.
 */
export function replayResponseStream(answer: Json): string {
  let seq = 0;
  const event = (type: string, data: Json): string =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`;
  const started = { ...answer, status: 'in_progress', output: [], usage: null, incomplete_details: null };
  let out = event('response.created', { response: started }) + event('response.in_progress', { response: started });
  const items = Array.isArray(answer.output) ? (answer.output as Json[]) : [];
  items.forEach((item, output_index) => {
    const at = { item_id: item.id, output_index };
    out += event('response.output_item.added', { output_index, item: emptied(item) });
    if (item.type === 'message')
      listOf(item.content).forEach((part, content_index) => {
        const text = typeof part.text === 'string' ? part.text : '';
        out += event('response.content_part.added', { ...at, content_index, part: { ...part, text: '' } });
        if (part.type === 'output_text') {
          out += event('response.output_text.delta', { ...at, content_index, delta: text, logprobs: [] });
          out += event('response.output_text.done', { ...at, content_index, text, logprobs: [] });
        }
        out += event('response.content_part.done', { ...at, content_index, part });
      });
    else if (item.type === 'function_call') {
      out += event('response.function_call_arguments.delta', { ...at, delta: item.arguments });
      out += event('response.function_call_arguments.done', { ...at, name: item.name, arguments: item.arguments });
    } else if (item.type === 'reasoning')
      listOf(item.summary).forEach((part, summary_index) => {
        out += event('response.reasoning_summary_part.added', { ...at, summary_index, part: { ...part, text: '' } });
        out += event('response.reasoning_summary_text.delta', { ...at, summary_index, delta: part.text });
        out += event('response.reasoning_summary_text.done', { ...at, summary_index, text: part.text });
        out += event('response.reasoning_summary_part.done', { ...at, summary_index, part });
      });
    out += event('response.output_item.done', { output_index, item });
  });
  const end = answer.status === 'incomplete' ? 'response.incomplete' : 'response.completed';
  return out + event(end, { response: answer });
}

/** An item as output_item.added announces it: before its text (arguments, summary) has come. */
function emptied(item: Json): Json {
  switch (item.type) {
    case 'message':
      return { ...item, status: 'in_progress', content: [] };
    case 'function_call':
      return { ...item, status: 'in_progress', arguments: '' };
    case 'reasoning':
      return { ...item, summary: [] };
    default:
      return item;
  }
}

function listOf(v: unknown): Json[] {
  return Array.isArray(v) ? (v as unknown[]).filter((x): x is Json => x !== null && typeof x === 'object') : [];
}
