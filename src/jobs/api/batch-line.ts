import { SpillwayError } from '../../errors.ts';
import type { Call } from '../../server/context.ts';
import { MAX_JSON_DEPTH, nestingExceeds } from '../../api/parse-json.ts';

/** The endpoints a batch (and an async request) may target, by their OpenAI URL. */
export const BATCH_ENDPOINTS: Readonly<Record<string, Call['endpoint']>> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
};

export interface BatchLine {
  customId: string;
  url: string;
  body: Record<string, unknown>;
}

/**
 * One line of a batch input file, as OpenAI defines it: `{"custom_id", "method": "POST", "url", "body"}`. A bad line
 * fails the whole batch at creation (OpenAI validates the file the same way), naming its line number.
 */
export function parseBatchLine(text: string, lineNo: number, endpoint: string): BatchLine {
  const bad = (why: string): SpillwayError =>
    new SpillwayError('invalid_batch_line', `Line ${lineNo} of the input file ${why}.`, { param: `line ${lineNo}` });
  if (nestingExceeds(Buffer.from(text, 'utf8'), MAX_JSON_DEPTH))
    throw bad(`nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels, the limit`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad('is not valid JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad('is not a JSON object');
  const o = v as Record<string, unknown>;
  if (typeof o.custom_id !== 'string' || o.custom_id === '') throw bad('has no custom_id (a non-empty string)');
  if (o.method !== undefined && o.method !== 'POST')
    throw bad(`has method ${JSON.stringify(o.method)}; only POST is supported`);
  if (typeof o.url !== 'string') throw bad('has no url');
  if (!(o.url in BATCH_ENDPOINTS)) {
    throw new SpillwayError(
      'unsupported_endpoint',
      `Line ${lineNo} of the input file has url ${JSON.stringify(o.url)}; Spillway batches support ${Object.keys(BATCH_ENDPOINTS).join(', ')}.`,
      { param: `line ${lineNo}` },
    );
  }
  if (o.url !== endpoint) throw bad(`has url ${o.url} but the batch's endpoint is ${endpoint}`);
  const body = o.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('has no body object');
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string') throw bad('has a body without a model');
  if (b.stream === true) throw bad('asks for a stream; batch answers are not streamed');
  return { customId: o.custom_id, url: o.url, body: b };
}
