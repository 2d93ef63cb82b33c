/**
 * The APIs an upstream may serve (`upstreams[].api`): OpenAI's chat completions (and completions, embeddings), the
 * Anthropic Messages API, OpenAI's Responses API, in the combinations real servers have: `openai` chat completions
 * only, `anthropic` Messages only, `both` chat completions and Messages, `responses` chat completions and Responses,
 * `all` the three; `auto` lets the kind and URL decide (upstream-api.ts). Apart from the policy so the config can name
 * them without importing it.
 */
export const UPSTREAM_APIS = ['auto', 'openai', 'anthropic', 'both', 'responses', 'all'] as const;
export type UpstreamApi = (typeof UPSTREAM_APIS)[number];
