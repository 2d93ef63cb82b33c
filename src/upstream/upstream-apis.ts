/**
 * The APIs an upstream may serve (`upstreams[].api`): OpenAI's chat completions (and completions, embeddings), the
 * Anthropic Messages API, or both; `auto` lets the kind decide (upstream-api.ts). Apart from the policy so the config
 * can name them without importing it.
 */
export const UPSTREAM_APIS = ['auto', 'openai', 'anthropic', 'both'] as const;
export type UpstreamApi = (typeof UPSTREAM_APIS)[number];
