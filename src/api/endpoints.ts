import type { Endpoint } from '../server/context.ts';

/**
 * The OpenAI-compatible routes. Each is served with and without `/v1`, because DeepSeek's documented base URL has
 * no `/v1` and clients configured for it call `/chat/completions`.
 */
const ROUTES: Record<string, { method: string; endpoint: Endpoint }> = {
  '/chat/completions': { method: 'POST', endpoint: 'chat' },
  '/completions': { method: 'POST', endpoint: 'completions' },
  '/embeddings': { method: 'POST', endpoint: 'embeddings' },
  '/models': { method: 'GET', endpoint: 'models' },
};

export type EndpointMatch = { endpoint: Endpoint } | { wrongMethod: string } | undefined;

export function matchEndpoint(method: string, url: string): EndpointMatch {
  const q = url.indexOf('?');
  let path = q < 0 ? url : url.slice(0, q);
  if (path.startsWith('/v1/')) path = path.slice(3);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const r = ROUTES[path];
  if (r === undefined) return undefined;
  return r.method === method ? { endpoint: r.endpoint } : { wrongMethod: r.method };
}

/** Upstream path of an endpoint, appended to the upstream's base URL as an OpenAI SDK would. */
export const UPSTREAM_PATH: Record<Exclude<Endpoint, 'models'>, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};
