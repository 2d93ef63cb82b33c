import type { Env } from './interpolate.ts';

/** The public models served by the zero-config start (DeepSeek's own names, so clients need no change). */
export const ZERO_CONFIG_MODELS = ['deepseek-chat', 'deepseek-reasoner'] as const;

/**
 * The config used when `spillway start` gets no file: DeepSeek's API when DEEPSEEK_API_KEY is set, otherwise the
 * embedded simulator at `simulatorUrl` (so the first command in the README works with no key and no network).
 */
export function zeroConfig(env: Env, simulatorUrl: string | undefined): Record<string, unknown> {
  const upstream = env.DEEPSEEK_API_KEY
    ? { name: 'deepseek', url: 'https://api.deepseek.com', api_key: '${DEEPSEEK_API_KEY}' }
    : { name: 'simulated', url: `${simulatorUrl ?? 'http://127.0.0.1:9'}/v1` };
  const models: Record<string, unknown> = {};
  for (const m of ZERO_CONFIG_MODELS) models[m] = { routes: [{ upstream: upstream.name, model: m }] };
  return { upstreams: [upstream], models };
}
