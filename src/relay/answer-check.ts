import type { Call, Usage } from '../server/context.ts';
import { usageInJson, usageOf } from './usage.ts';

/** The top-level array every answer of an endpoint carries: no answer without it. */
const SHAPE: Readonly<Record<Call['endpoint'], string>> = {
  chat: 'choices',
  completions: 'choices',
  embeddings: 'data',
};

export type AnswerCheck =
  | {
      ok: true;
      /** The answer without the blank lines an upstream sent before it. */ body: Buffer;
      usage: Usage | undefined;
    }
  | { ok: false; detail: string };

/**
 * Answers up to this size are parsed whole. A larger one (a big embeddings batch runs to tens of megabytes, whose
 * parse would stall the event loop for every other request) gets the structural check only: an object that
 * closes, with the endpoint's key.
 */
const FULL_PARSE_MAX_BYTES = 1024 * 1024;

/**
 * Whether a non-stream 200 is really an answer of `endpoint`, before any of it reaches the client. A busy DeepSeek
 * sends blank lines before its JSON (they are cut off here); a broken upstream sends an empty body, an HTML page, a
 * truncated object or `{"error":…}` with 200. Any of those relayed is the `JSONDecodeError: Expecting value` an
 * application cannot recover from, while a retry elsewhere can. The body is parsed whole: a non-stream answer is a
 * few kilobytes (a 2 KB answer parses in about 4 µs), and only a full parse tells a truncated object for sure; the
 * parse also gives the usage, which was otherwise parsed from the tail alone.
 */
export function checkAnswer(
  endpoint: Call['endpoint'],
  contentType: string | string[] | undefined,
  body: Buffer,
): AnswerCheck {
  const key = SHAPE[endpoint];
  const a = answerObject(contentType, body, (trimmed) =>
    trimmed.length > FULL_PARSE_MAX_BYTES ? checkLarge(trimmed, key) : undefined,
  );
  if (!('obj' in a)) return a;
  const { obj, body: trimmed } = a;
  const list = obj[key];
  if (!Array.isArray(list) || list.length === 0) {
    return { ok: false, detail: 'error' in obj ? 'an error object with status 200' : `JSON without ${key}` };
  }
  return { ok: true, body: trimmed, usage: usageOf(obj) };
}

/**
 * The part every answer check shares: a JSON content-type, the busy upstream's blank lines cut off, a whole JSON
 * object. `large` may answer for a body too large to parse (undefined: parse it).
 */
export function answerObject(
  contentType: string | string[] | undefined,
  body: Buffer,
  large?: (trimmed: Buffer) => AnswerCheck | undefined,
): AnswerCheck | { obj: Record<string, unknown>; body: Buffer } {
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  if (type !== undefined && !type.toLowerCase().includes('json'))
    return { ok: false, detail: `content-type ${type.split(';')[0]} instead of JSON` };
  const start = leadingBlankBytes(body);
  if (start === body.length)
    return { ok: false, detail: body.length === 0 ? 'empty body' : 'body of blank lines only' };
  const trimmed = start === 0 ? body : body.subarray(start);
  const early = large?.(trimmed);
  if (early !== undefined) return early;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed.toString('utf8'));
  } catch {
    return { ok: false, detail: trimmed[0] === 0x7b /* { */ ? 'truncated or invalid JSON' : 'body is not JSON' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return { ok: false, detail: 'body is not a JSON object' };
  return { obj: parsed as Record<string, unknown>, body: trimmed };
}

/** The structural check of a large answer: an object that closes and names the endpoint's key. */
function checkLarge(body: Buffer, key: string): AnswerCheck {
  let end = body.length - 1;
  while (end > 0 && isBlankByte(body[end] as number)) end--;
  if (body[0] !== 0x7b /* { */) return { ok: false, detail: 'body is not JSON' };
  if (body[end] !== 0x7d /* } */) return { ok: false, detail: 'truncated or invalid JSON' };
  if (!body.includes(`"${key}"`)) return { ok: false, detail: `JSON without ${key}` };
  return { ok: true, body, usage: usageInJson(body) };
}

/** Whether a stream's content-type is an event stream (absent is given the benefit of the doubt). */
export function isEventStream(contentType: string | string[] | undefined): boolean {
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  return type === undefined || type.toLowerCase().includes('text/event-stream');
}

/** How many bytes at the start of `b` are blank (spaces, tabs, line breaks): keep-alive lines of a busy upstream. */
export function leadingBlankBytes(b: Buffer): number {
  let i = 0;
  while (i < b.length && isBlankByte(b[i] as number)) i++;
  return i;
}

function isBlankByte(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x20 || c === 0x09;
}
