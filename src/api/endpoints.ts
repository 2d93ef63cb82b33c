import type { Door, Endpoint } from '../server/context.ts';

/**
 * The OpenAI-compatible routes. Each is served with and without `/v1`, because DeepSeek's documented base URL has
 * no `/v1` and clients configured for it call `/chat/completions`.
 */
const ROUTES: Record<string, { method: string; endpoint: Endpoint; door?: Door }> = {
  '/chat/completions': { method: 'POST', endpoint: 'chat' },
  '/completions': { method: 'POST', endpoint: 'completions' },
  '/embeddings': { method: 'POST', endpoint: 'embeddings' },
  '/models': { method: 'GET', endpoint: 'models' },
  // The other doors (src/api/anthropic, src/api/responses): their requests become chat completions.
  '/messages': { method: 'POST', endpoint: 'chat', door: 'anthropic' },
  '/messages/count_tokens': { method: 'POST', endpoint: 'chat', door: 'anthropic_count' },
  '/responses': { method: 'POST', endpoint: 'chat', door: 'responses' },
};

/** `GET /v1/responses/{id}`: a stored response (ids are the gateway's own, `resp_` and URL-safe characters). */
const STORED_RESPONSE = /^\/responses\/resp_[\w-]{1,100}$/;

export type EndpointMatch = { endpoint: Endpoint; door?: Door } | { wrongMethod: string } | undefined;

export function matchEndpoint(method: string, url: string): EndpointMatch {
  const q = url.indexOf('?');
  let path = q < 0 ? url : url.slice(0, q);
  // DeepSeek's base URL for Anthropic clients ends in /anthropic: the Messages door is served under it too.
  const underAnthropic = path.startsWith('/anthropic/');
  if (underAnthropic) path = path.slice(10);
  if (path.startsWith('/v1/')) path = path.slice(3);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  if (STORED_RESPONSE.test(path) && !underAnthropic)
    return method === 'GET' ? { endpoint: 'chat', door: 'responses_get' } : { wrongMethod: 'GET' };
  const r = ROUTES[path];
  if (r === undefined || (underAnthropic && r.door !== 'anthropic' && r.door !== 'anthropic_count')) return undefined;
  if (r.method !== method) return { wrongMethod: r.method };
  return r.door === undefined ? { endpoint: r.endpoint } : { endpoint: r.endpoint, door: r.door };
}

/** Upstream path of an endpoint, appended to the upstream's base URL as an OpenAI SDK would. */
export const UPSTREAM_PATH: Record<Exclude<Endpoint, 'models'>, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};
