import type { Config, ModelConfig } from '../config/types.ts';
import type { Lease } from '../balance/lease.ts';
import { SpillwayError } from '../errors.ts';
import { withRouteParams } from '../route/route-params.ts';
import type { Call } from '../server/context.ts';
import { servesOpenAi, type NativeApi } from '../upstream/upstream-api.ts';

/**
 * Where the Messages door's passthrough changes the attempt loop: the routes an OpenAI-shaped request may take
 * (never an upstream that serves only the Messages API), and the body a passed-through Messages request carries.
 */

/**
 * The models whose routes change for OpenAI-shaped requests (some go to Messages-only upstreams): each with only
 * the routes such requests may take, or null when none is left. Built once; empty when no upstream is Messages-only.
 */
export function openAiModels(config: Config): ReadonlyMap<string, ModelConfig | null> {
  const messagesOnly = new Set(config.upstreams.filter((u) => !servesOpenAi(u)).map((u) => u.name));
  const out = new Map<string, ModelConfig | null>();
  if (messagesOnly.size === 0) return out;
  for (const m of Object.values(config.models)) {
    const routes = m.routes.filter((r) => !messagesOnly.has(r.upstream));
    if (routes.length < m.routes.length) out.set(m.name, routes.length === 0 ? null : { ...m, routes });
  }
  return out;
}

/** A model and its fallbacks as an OpenAI-shaped request may use them; refused when only Messages-only upstreams serve it. */
export function openAiChain(
  changed: ReadonlyMap<string, ModelConfig | null>,
  full: readonly ModelConfig[],
): ModelConfig[] {
  const chain = full.flatMap((m) => (changed.has(m.name) ? (changed.get(m.name) ?? []) : m));
  if (chain.length === 0) {
    const name = full[0]?.name ?? '';
    throw new SpillwayError(
      'messages_api_only',
      `The model '${name}' is served only by upstreams that speak the Anthropic Messages API (api: anthropic): send it to /v1/messages.`,
      { param: 'model' },
    );
  }
  return chain;
}

/**
 * A passed-through (Messages or Responses) request's body for a route: its model renamed, the route's params it did
 * not set added, and degrade mode's lower `max_tokens` (set on the chat body) applied to its own limit too.
 */
export function messagesBody(call: Call, lease: Lease): string {
  return JSON.stringify(messagesObject(call, lease));
}

function messagesObject(call: Call, lease: Lease): Record<string, unknown> {
  const native = call.native as NonNullable<Call['native']>;
  const body = withRouteParams({ ...call, body: { ...native.body } }, lease.route.params) ?? native.body;
  return { ...body, ...cappedBy(call.body, body, native.api), model: lease.route.model };
}

/**
 * A passed-through request's own body with degrade mode's lower `max_tokens` (set on `chat`, its chat body)
 * applied: what every attempt asks, before the route's model and params (the cache's key).
 */
export function nativeBody(call: Call, chat: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const native = call.native as NonNullable<Call['native']>;
  return { ...native.body, ...cappedBy(chat, native.body, native.api) };
}

/**
 * The chat body's lower limit on the native body's own limit field (`max_output_tokens` in the Responses API). A
 * chat limit the native body lacks can only be degrade mode's (a translation carries the client's over): it applies.
 */
function cappedBy(
  chat: Readonly<Record<string, unknown>>,
  body: Readonly<Record<string, unknown>>,
  api: NativeApi,
): Record<string, number> {
  const field = api === 'responses' ? 'max_output_tokens' : 'max_tokens';
  const cap = chat.max_tokens;
  const asked = body[field];
  return typeof cap === 'number' && (typeof asked !== 'number' || cap < asked) ? { [field]: cap } : {};
}

/**
 * The body of the Messages request that continues a passed-through answer cut mid-stream (pure): the request as it
 * was, with the text the client has as a prefill — a last assistant turn, which the Messages API continues (DeepSeek's
 * `/anthropic` documents it) — and only the tokens the original may still produce. A prefill the client sent itself
 * (its own last assistant turn) comes first: the answer continues it too.
 */
export function messagesContinuationBody(call: Call, lease: Lease, sent: { text: string; events: number }): string {
  const body = messagesObject(call, lease);
  const messages = Array.isArray(body.messages) ? [...(body.messages as unknown[])] : [];
  const own = clientPrefill(messages);
  if (typeof own === 'string') messages.pop();
  messages.push({ role: 'assistant', content: (own ?? '') + sent.text });
  const max = body.max_tokens;
  return JSON.stringify({
    ...body,
    messages,
    stream: true,
    ...(typeof max === 'number' ? { max_tokens: Math.max(1, max - sent.events) } : {}), // 0 left: ended, not continued
  });
}

/**
 * The text of the client's own prefill (a last assistant turn of text only); undefined when its last turn is not an
 * assistant one; null when it is one with other blocks (those cannot be extended with text: not continued).
 */
export function clientPrefill(messages: readonly unknown[]): string | undefined | null {
  const last = messages.at(-1) as { role?: unknown; content?: unknown } | null | undefined;
  if (last?.role !== 'assistant') return undefined;
  if (typeof last.content === 'string') return last.content;
  if (!Array.isArray(last.content)) return null;
  let text = '';
  for (const b of last.content as ({ type?: unknown; text?: unknown } | null)[]) {
    if (b?.type !== 'text' || typeof b.text !== 'string') return null;
    text += b.text;
  }
  return text;
}
