import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';

/**
 * Body fields that do not change what the model answers: who asks (`user`, `safety_identifier`, `metadata`), how
 * the answer is delivered (`stream`, `stream_options`) and what the upstream keeps (`store`, `prompt_cache_key`).
 * Leaving them out lets a non-stream answer be replayed as a stream and the other way round, and lets two users of
 * one tenant share an answer. `model` is left out too: the key names the public model the gateway resolved.
 */
const IRRELEVANT = new Set(['user', 'safety_identifier', 'metadata', 'stream', 'stream_options', 'store', 'prompt_cache_key', 'model']);

/** The body fields that determine the answer, in their canonical JSON form (keys sorted at every depth). */
export function answerFields(body: Readonly<Record<string, unknown>>): string {
  const kept: Record<string, unknown> = {};
  for (const k of Object.keys(body)) if (!IRRELEVANT.has(k) && body[k] !== undefined) kept[k] = body[k];
  return stringify(kept) ?? '{}';
}

/**
 * The exact-match key of a request: a SHA-256 over the endpoint, the public model and the canonical fields. The
 * tenant namespace is not in the hash: it is a separate part of the stored key so a purge can find it.
 */
export function cacheKey(endpoint: string, model: string, body: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(`${endpoint}\n${model}\n${answerFields(body)}`).digest('base64url');
}
