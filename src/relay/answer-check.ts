import type { Call } from '../server/context.ts';

/** The top-level array every answer of an endpoint carries: no answer without it. */
const SHAPE: Readonly<Record<Call['endpoint'], string>> = { chat: 'choices', completions: 'choices', embeddings: 'data' };

export type AnswerCheck =
  | { ok: true; /** The answer without the blank lines an upstream sent before it. */ body: Buffer; parsed: Record<string, unknown> }
  | { ok: false; detail: string };

/**
 * Whether a non-stream 200 is really an answer of `endpoint`, before any of it reaches the client. A busy DeepSeek
 * sends blank lines before its JSON (they are cut off here); a broken upstream sends an empty body, an HTML page, a
 * truncated object or `{"error":…}` with 200. Any of those relayed is the `JSONDecodeError: Expecting value` an
 * application cannot recover from, while a retry elsewhere can. The body is parsed whole: a non-stream answer is a
 * few kilobytes (a 2 KB answer parses in about 4 µs), and only a full parse tells a truncated object for sure.
 */
export function checkAnswer(endpoint: Call['endpoint'], contentType: string | string[] | undefined, body: Buffer): AnswerCheck {
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  if (type !== undefined && !type.toLowerCase().includes('json')) return { ok: false, detail: `content-type ${type.split(';')[0]} instead of JSON` };
  const start = leadingBlankBytes(body);
  if (start === body.length) return { ok: false, detail: body.length === 0 ? 'empty body' : 'body of blank lines only' };
  const trimmed = start === 0 ? body : body.subarray(start);
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed.toString('utf8'));
  } catch {
    return { ok: false, detail: trimmed[0] === 0x7b /* { */ ? 'truncated or invalid JSON' : 'body is not JSON' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, detail: 'body is not a JSON object' };
  const obj = parsed as Record<string, unknown>;
  const key = SHAPE[endpoint];
  const list = obj[key];
  if (!Array.isArray(list) || list.length === 0) {
    return { ok: false, detail: 'error' in obj ? 'an error object with status 200' : `JSON without ${key}` };
  }
  return { ok: true, body: trimmed, parsed: obj };
}

/** Whether a stream's content-type is an event stream (absent is given the benefit of the doubt). */
export function isEventStream(contentType: string | string[] | undefined): boolean {
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  return type === undefined || type.toLowerCase().includes('text/event-stream');
}

/** How many bytes at the start of `b` are blank (spaces, tabs, line breaks): keep-alive lines of a busy upstream. */
export function leadingBlankBytes(b: Buffer): number {
  let i = 0;
  for (; i < b.length; i++) {
    const c = b[i];
    if (c !== 0x0a && c !== 0x0d && c !== 0x20 && c !== 0x09) break;
  }
  return i;
}
