import type { Env } from './interpolate.ts';

/**
 * The public models served by the zero-config start: DeepSeek's current V4 names, and the names it retired on
 * 2026-07-24 as aliases (DeepSeek documents `deepseek-chat` as V4 Flash without thinking and `deepseek-reasoner` as
 * V4 Flash with thinking), so a client written for either needs no change.
 */
export const ZERO_CONFIG_MODELS = [
  'deepseek-v4-flash',
  'deepseek-v4-pro',
  'deepseek-chat',
  'deepseek-reasoner',
] as const;

/** Retired public name → the model it is sent as, and the thinking mode it stands for (unless the client says). */
const ALIASES: Readonly<Record<string, { model: string; thinking: 'enabled' | 'disabled' }>> = {
  'deepseek-chat': { model: 'deepseek-v4-flash', thinking: 'disabled' },
  'deepseek-reasoner': { model: 'deepseek-v4-flash', thinking: 'enabled' },
};

/**
 * The config used when `spillway start` gets no file: DeepSeek's API when DEEPSEEK_API_KEY is set, otherwise the
 * embedded simulator at `simulatorUrl` (so the first command in the README works with no key and no network).
 */
export function zeroConfig(env: Env, simulatorUrl: string | undefined): Record<string, unknown> {
  const upstream = env.DEEPSEEK_API_KEY
    ? { name: 'deepseek', url: 'https://api.deepseek.com', api_key: '${DEEPSEEK_API_KEY}' }
    : { name: 'simulated', url: `${simulatorUrl ?? 'http://127.0.0.1:9'}/v1` };
  const models: Record<string, unknown> = {};
  for (const m of ZERO_CONFIG_MODELS) {
    const alias = ALIASES[m];
    const route =
      alias === undefined
        ? { upstream: upstream.name, model: m }
        : { upstream: upstream.name, model: alias.model, params: { thinking: { type: alias.thinking } } };
    models[m] = { routes: [route] };
  }
  return { upstreams: [upstream], models };
}
