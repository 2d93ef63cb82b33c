import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';
import { SpillwayError } from '../errors.ts';
import { MAX_JSON_DEPTH } from '../api/parse-json.ts';

/**
 * Body fields that do not change what the model answers: who asks (`user`, `safety_identifier`, `metadata`), how
 * the answer is delivered (`stream`, `stream_options`) and what the upstream keeps (`store`, `prompt_cache_key`).
 * Leaving them out lets a non-stream answer be replayed as a stream and the other way round, and lets two users of
 * one tenant share an answer. `model` is left out too: the key names the public model the gateway resolved.
 */
const IRRELEVANT = new Set([
  'user',
  'safety_identifier',
  'metadata',
  'stream',
  'stream_options',
  'store',
  'prompt_cache_key',
  'model',
]);

/** The body fields that determine the answer, in their canonical JSON form (keys sorted at every depth). */
function answerFields(body: Readonly<Record<string, unknown>>): string {
  const kept: Record<string, unknown> = {};
  for (const k of Object.keys(body)) if (!IRRELEVANT.has(k) && body[k] !== undefined) kept[k] = body[k];
  let text: string | undefined;
  try {
    // Recursive, so bounded by the parser's depth limit (parse-json.ts). Not the library's maximumDepth: past it,
    // it writes a placeholder, and two different deep bodies would share a key. A body that got here deeper
    // anyway (a stack overflow) is refused rather than a 500.
    text = stringify(kept);
  } catch (err) {
    throw new SpillwayError(
      'invalid_request',
      `The request body nests deeper than ${MAX_JSON_DEPTH} levels, the limit.`,
      { cause: err },
    );
  }
  return text ?? '{}';
}

/**
 * The exact-match key of a request: a SHA-256 over the endpoint, the public model and the canonical fields. The
 * tenant namespace is not in the hash: it is a separate part of the stored key so a purge can find it.
 */
export function cacheKey(endpoint: string, model: string, body: Readonly<Record<string, unknown>>): string {
  return createHash('sha256')
    .update(`${endpoint}\n${model}\n${answerFields(body)}`)
    .digest('base64url');
}
