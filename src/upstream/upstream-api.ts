import type { Config, ModelConfig, UpstreamConfig } from '../config/types.ts';
import type { UpstreamKind } from './upstream-kind.ts';

import type { UpstreamApi } from './upstream-apis.ts';

/**
 * Which APIs an upstream serves (`upstreams[].api`, upstream-apis.ts): a Messages request is passed through
 * untranslated to an upstream that serves Messages, and translated to chat completions for one that does not;
 * nothing else goes to a Messages-only one.
 */

/** Whether the upstream serves the Messages API (pure). `auto`: DeepSeek does, under `/anthropic`. */
export function servesMessages(api: UpstreamApi, kind: UpstreamKind): boolean {
  return api === 'anthropic' || api === 'both' || (api === 'auto' && kind === 'deepseek');
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
 * Whether a request may be answered by a Messages upstream as it is (pure, given the kinds known now): a Messages
 * door request for a model (or a fallback) with a route to an upstream that serves Messages. Such an answer is in
 * Messages form, which the answer cache (it stores chat completions) cannot hold or share.
 */
export function mayPassThrough(
  native: boolean,
  model: ModelConfig,
  config: Pick<Config, 'models' | 'upstreams'>,
  kindOf: (upstream: string) => UpstreamKind,
): boolean {
  if (!native) return false;
  const byName = new Map(config.upstreams.map((u) => [u.name, u]));
  return [model, ...model.fallback.flatMap((n) => config.models[n] ?? [])].some((m) =>
    m.routes.some((r) => {
      const u = byName.get(r.upstream);
      return u !== undefined && servesMessages(u.api, kindOf(u.name));
    }),
  );
}
