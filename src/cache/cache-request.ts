import type { CacheConfig } from '../config/types.ts';
import type { Call, RequestContext } from '../server/context.ts';
import type { EntryKey } from './cache-entry.ts';
import { cacheKey } from './cache-key.ts';
import { nativeBody } from '../retry/messages-routes.ts';
import { cacheUse, type CacheUse } from './cache-policy.ts';
import type { ResponseCache } from './response-cache.ts';
import { wantsUsage } from './serve-cached.ts';

/** A request the cache looks at: what it may do for it, the entry it answers to, whether it asks for usage. */
export interface CacheRequest {
  call: Call;
  /** The public model, the metrics' label. */
  model: string;
  use: CacheUse;
  key: EntryKey;
  /** A stream asking for a usage chunk: only an answer stored with usage can serve it. */
  usage: boolean;
  /**
   * Its answers are in its door's form: Messages (messages-answer.ts) for a Messages door request that may be passed
   * through to a Messages upstream, Responses (responses-answer.ts) for a Responses door request that may be passed
   * through to a Responses upstream, keyed on its own body. Every other request's answers are chat completions,
   * keyed on the chat body — a Messages or Responses request only ever translated shares them with the chat door.
   */
  messages: boolean;
}

/**
 * The cache's view of a request. Undefined for one it may not touch: no parsed call or model yet, embeddings
 * (vectors are not worth keeping), or a model the cache does not serve. `bypass` (the public model) for one the
 * cache serves but that may neither look up, store nor coalesce: no key is computed for it.
 */
export function cacheRequestOf(
  ctx: RequestContext,
  config: CacheConfig,
  cache: ResponseCache,
  passesThrough?: (ctx: RequestContext) => boolean,
): CacheRequest | { bypass: string } | undefined {
  const call = ctx.call;
  const model = ctx.model;
  if (call === undefined || model === undefined || call.endpoint === 'embeddings' || !cache.models.has(model.name))
    return undefined;
  // A Messages (Responses) request that may be passed through: its answer is a Messages (Responses) one.
  const messages = call.native !== undefined && passesThrough?.(ctx) === true;
  const use = cacheUse(
    config,
    messages ? (call.native as { body: Record<string, unknown> }).body : call.body,
    ctx.req.headers,
  );
  if (!use.lookup && !use.store && !use.coalesce) return { bypass: model.name };
  const key: EntryKey = {
    ns: cache.namespaces.of(ctx.tenant),
    model: model.name,
    hash: requestHash(call, messages, model.name, call.body),
  };
  return { call, model: model.name, use, key, usage: !messages && wantsUsage(call.body), messages };
}

/**
 * The exact-match hash of a request for `model` whose chat body is `body` (degrade mode may have lowered its model
 * or `max_tokens`): for a Messages- or Responses-form request, its own body with that limit (the body every attempt
 * sends: retry/messages-routes.ts), under an endpoint of its own so no chat answer is ever found for it.
 */
export function requestHash(
  call: Call,
  messages: boolean,
  model: string,
  body: Readonly<Record<string, unknown>>,
): string {
  if (!messages || call.native === undefined) return cacheKey(call.endpoint, model, body);
  return cacheKey(call.native.api === 'responses' ? 'responses' : 'messages', model, nativeBody(call, body));
}

/** The key of identical requests, to find their flight. */
export function flightId(k: EntryKey): string {
  return `${k.ns}\u0000${k.model}\u0000${k.hash}`;
}
