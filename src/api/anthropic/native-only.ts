import type { Config } from '../../config/types.ts';
import { servesMessages } from '../../upstream/upstream-api.ts';

type Json = Record<string, unknown>;

/**
 * Whether every route of a public model (its fallbacks included) goes to an upstream that serves the Messages API
 * by its config alone (`api: anthropic | both`, or a deepseek kind the config or URL states; a kind a probe may
 * learn later does not count). Then no attempt is ever translated, and a Messages request the door cannot
 * translate (server tools, documents, blocks it does not know) may still be passed through as it is.
 */
export function servedOnlyByMessages(config: Pick<Config, 'models' | 'upstreams'>, model: unknown): boolean {
  if (typeof model !== 'string' || !Object.hasOwn(config.models, model)) return false;
  const m = config.models[model];
  if (m === undefined) return false;
  const byName = new Map(config.upstreams.map((u) => [u.name, u]));
  return [m, ...m.fallback.flatMap((n) => config.models[n] ?? [])].every((x) =>
    x.routes.every((r) => {
      const u = byName.get(r.upstream);
      return u !== undefined && servesMessages(u.api, u.kindProbe ? 'openai' : u.kind);
    }),
  );
}

/**
 * The chat body the stages before dispatch read for a Messages request that is only ever passed through (pure):
 * its model, limit and stream flag, and its system and turns as one text, so admission's token estimate and the
 * request log see its size. Never sent to an upstream. Undefined when the request lacks what even a passthrough
 * needs (a model, a positive max_tokens, a non-empty messages array): the translation's own 400 stands then.
 */
export function passthroughStandIn(b: Json): Json | undefined {
  if (typeof b.model !== 'string' || b.model === '') return undefined;
  if (typeof b.max_tokens !== 'number' || !Number.isInteger(b.max_tokens) || b.max_tokens < 1) return undefined;
  if (!Array.isArray(b.messages) || b.messages.length === 0) return undefined;
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') return undefined;
  const text = JSON.stringify([b.system ?? null, b.messages, b.tools ?? null]);
  return {
    model: b.model,
    max_tokens: b.max_tokens,
    stream: b.stream === true,
    messages: [{ role: 'user', content: text }],
  };
}
