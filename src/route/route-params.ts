import type { Call } from '../server/context.ts';

/**
 * The body a route sends: the client's fields, plus the route's `params` the client did not set. A public name that
 * is an alias of one mode of a model (DeepSeek's retired `deepseek-chat` is `deepseek-v4-flash` without thinking)
 * needs the mode said on every request; the client's own choice always wins. Chat completions only: the other
 * endpoints (FIM, embeddings) take none of the fields an alias sets. Pure.
 */
export function withRouteParams(
  call: Call,
  params: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> | undefined {
  if (params === undefined || call.endpoint !== 'chat') return undefined;
  const missing = Object.keys(params).filter((k) => !Object.hasOwn(call.body, k));
  if (missing.length === 0) return undefined;
  const body = { ...call.body };
  for (const k of missing) body[k] = params[k];
  return body;
}
