import type { Config, ModelConfig, UpstreamConfig } from '../config/types.ts';
import type { UpstreamKind } from './upstream-kind.ts';

import type { UpstreamApi } from './upstream-apis.ts';

/**
 * Which APIs an upstream serves (`upstreams[].api`, upstream-apis.ts): a Messages or Responses request is passed
 * through untranslated to an upstream that serves its API, and translated to chat completions for one that does
 * not; nothing else goes to a Messages-only one.
 */

/** Whether the upstream serves the Messages API (pure). `auto`: DeepSeek does, under `/anthropic`. */
export function servesMessages(api: UpstreamApi, kind: UpstreamKind): boolean {
  return api === 'anthropic' || api === 'both' || api === 'all' || (api === 'auto' && kind === 'deepseek');
}

/**
 * Whether the upstream serves OpenAI's Responses API at `{url}/responses` (pure). `auto` is conservative: only
 * OpenAI's own API (kind `openai` at api.openai.com), the one server known to serve it whole. vLLM serves
 * `/v1/responses` in recent versions, but which version answers is not visible to the gateway, and its Responses API
 * has followed OpenAI's unevenly (built around its harmony models, tools and stored state partial): a vLLM, SGLang or
 * any other server is passed Responses requests only when the config says so (`api: responses` or `all`); else
 * they are translated to chat completions, which every OpenAI-compatible server serves.
 */
export function servesResponses(u: Pick<UpstreamConfig, 'api' | 'url'>, kind: UpstreamKind): boolean {
  if (u.api === 'responses' || u.api === 'all') return true;
  return u.api === 'auto' && kind === 'openai' && hostOf(u.url) === 'api.openai.com';
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/** A door whose requests may be passed through to an upstream that speaks its protocol. */
export type NativeApi = 'anthropic' | 'responses';

/** Whether the upstream serves `api`, the protocol a door request came in (pure). */
export function servesNative(api: NativeApi, u: Pick<UpstreamConfig, 'api' | 'url'>, kind: UpstreamKind): boolean {
  return api === 'anthropic' ? servesMessages(u.api, kind) : servesResponses(u, kind);
}

/** Whether OpenAI-shaped requests (chat completions, completions, embeddings, the Responses door's) may go there. */
export function servesOpenAi(u: Pick<UpstreamConfig, 'api'>): boolean {
  return u.api !== 'anthropic';
}

/**
 * The path of the Messages endpoint under an upstream's base path (pure). The base URL is the OpenAI one
 * (`https://api.deepseek.com`, `http://host/v1`) or the Anthropic one (`https://api.deepseek.com/anthropic`,
 * `https://api.anthropic.com`): a trailing `/v1` is dropped, DeepSeek's `/anthropic` is added when it is not
 * there, then `/v1/messages` as the Anthropic SDKs append it.
 */
export function messagesPath(kind: UpstreamKind, basePath: string): string {
  let base = basePath.replace(/\/v1$/, '');
  if (kind === 'deepseek' && !base.endsWith('/anthropic')) base = `${base}/anthropic`;
  return `${base}/v1/messages`;
}

/**
 * Whether a request may be answered by an upstream in its door's protocol as it is (pure, given the kinds known now):
 * a Messages (Responses) door request for a model (or a fallback) with a route to an upstream that serves Messages
 * (Responses). Such an answer is in the door's form, which the answer cache keeps apart from chat completions.
 */
export function mayPassThrough(
  native: NativeApi | undefined,
  model: ModelConfig,
  config: Pick<Config, 'models' | 'upstreams'>,
  kindOf: (upstream: string) => UpstreamKind,
): boolean {
  if (native === undefined) return false;
  const byName = new Map(config.upstreams.map((u) => [u.name, u]));
  return [model, ...model.fallback.flatMap((n) => config.models[n] ?? [])].some((m) =>
    m.routes.some((r) => {
      const u = byName.get(r.upstream);
      return u !== undefined && servesNative(native, u, kindOf(u.name));
    }),
  );
}
