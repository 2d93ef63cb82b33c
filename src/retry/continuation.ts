import type { ModelConfig } from '../config/types.ts';
import type { StreamText } from '../relay/stream-text.ts';
import type { UpstreamKind } from '../upstream/upstream-kind.ts';
import type { UpstreamApi } from '../upstream/upstream-apis.ts';
import { servesMessages } from '../upstream/upstream-api.ts';

/**
 * How an upstream continues an answer from a given prefix:
 * - `prefix`: DeepSeek's chat prefix completion (a last assistant message with `prefix: true`; DeepSeek serves it
 *   on its `/beta` base URL);
 * - `continue_final_message`: vLLM's (and SGLang's) parameter that continues the last assistant message;
 * - `prompt`: any OpenAI-compatible server: the partial answer as an assistant turn, then a user turn asking to go
 *   on without repeating. The least exact; use it only where nothing better exists.
 */
export type ContinuationMode = 'off' | 'prefix' | 'continue_final_message' | 'prompt';

/**
 * The mode a model's `continuation` setting gives on an upstream of `kind` (pure). An explicit mode wins; `auto`
 * picks only the exact ones: DeepSeek's prefix completion (Spillway sends it to `/beta` itself:
 * upstream/upstream-path.ts), vLLM's and SGLang's `continue_final_message`; other kinds keep the in-band error,
 * since the `prompt` form asks the model to go on and cannot promise the same text.
 */
export function continuationMode(setting: ModelConfig['continuation'], kind: UpstreamKind): ContinuationMode {
  if (setting !== 'auto') return setting;
  if (kind === 'deepseek') return 'prefix';
  if (kind === 'vllm' || kind === 'sglang') return 'continue_final_message';
  return 'off';
}

/** Whether a route of `model` to `upstream` continues an answer: exactly (with `auto`) or as the config names. */
function continuesOn(model: ModelConfig, upstream: string, kindOf: (upstream: string) => UpstreamKind): boolean {
  return continuationMode(model.continuation, kindOf(upstream)) !== 'off';
}

/** Whether some route of `model` continues an answer: exactly (with `auto`) or in the mode the config names. */
export function continuesSomewhere(model: ModelConfig, kindOf: (upstream: string) => UpstreamKind): boolean {
  return model.routes.some((r) => continuesOn(model, r.upstream, kindOf));
}

/**
 * Whether a passed-through Messages answer may be continued on an upstream of `kind` (pure): by a prefill, the
 * Messages API's own way to continue an answer. `auto` picks DeepSeek's `/anthropic` only, which documents it;
 * elsewhere (Anthropic's own API refuses a prefill that ends in whitespace, and a translating server may start a new
 * turn after it) only an explicit mode turns it on.
 */
export function continuesMessages(setting: ModelConfig['continuation'], kind: UpstreamKind): boolean {
  return setting === 'auto' ? kind === 'deepseek' : setting !== 'off';
}

/** How the gateway sees an upstream's APIs and kind, for the routes a Messages continuation may take. */
export interface RouteApis {
  kindOf: (upstream: string) => UpstreamKind;
  apiOf: (upstream: string) => UpstreamApi;
}

/** Whether a route of `model` may continue a passed-through Messages answer: it serves Messages and allows it. */
function continuesMessagesOn(model: ModelConfig, upstream: string, u: RouteApis): boolean {
  const kind = u.kindOf(upstream);
  return servesMessages(u.apiOf(upstream), kind) && continuesMessages(model.continuation, kind);
}

/** Whether a passed-through Messages stream served by `chain` could be continued on some route (then it is tracked). */
export function mayContinueMessages(chain: readonly ModelConfig[], u: RouteApis): boolean {
  return chain.some((m) => m.routes.some((r) => continuesMessagesOn(m, r.upstream, u)));
}

/** The routes of `model` that may continue a passed-through Messages answer (the cut one's among them). */
export function messagesContinuationRoutes(model: ModelConfig, u: RouteApis): ModelConfig {
  const routes = model.routes.filter((r) => continuesMessagesOn(model, r.upstream, u));
  return routes.length === model.routes.length ? model : { ...model, routes };
}

/** Whether a stream served by `chain` could be continued on some route: only then is the text sent tracked. */
export function mayContinue(chain: readonly ModelConfig[], kindOf: (upstream: string) => UpstreamKind): boolean {
  return chain.some((m) => continuesSomewhere(m, kindOf));
}

/**
 * The routes of `model` that may continue an answer, wherever it began: every route that continues exactly, each the
 * way its own upstream does (a DeepSeek prefix, vLLM's `continue_final_message`; with an explicit mode, every route
 * that mode's way). A model's routes serve the same model (another model is a fallback, and a continuation never
 * leaves the model that wrote the beginning), so an exact continuation on any of them carries on from the very
 * tokens sent — and the client gets its whole answer instead of a cut one. Keeping an answer on upstreams of its
 * own kind left it nowhere to go when that kind's one upstream was down or crawling (`spillway demo`: streams begun
 * on the vLLM upstream `c` ended broken while `a`, a DeepSeek, had slots).
 */
export function continuationRoutes(model: ModelConfig, kindOf: (upstream: string) => UpstreamKind): ModelConfig {
  const routes = model.routes.filter((r) => continuesOn(model, r.upstream, kindOf));
  return routes.length === model.routes.length ? model : { ...model, routes };
}

export const CONTINUE_PROMPT = 'Continue your previous answer exactly where it stopped, without repeating anything.';

/** The body of the request that continues `sent` (pure). */
export function continuationBody(
  original: Record<string, unknown>,
  upstreamModel: string,
  mode: Exclude<ContinuationMode, 'off'>,
  sent: StreamText,
): string {
  const messages = Array.isArray(original.messages) ? [...(original.messages as unknown[])] : [];
  const body: Record<string, unknown> = { ...original, model: upstreamModel, stream: true };
  if (mode === 'prefix') {
    messages.push({ role: 'assistant', content: sent.text, prefix: true });
  } else if (mode === 'continue_final_message') {
    messages.push({ role: 'assistant', content: sent.text });
    body.continue_final_message = true;
    body.add_generation_prompt = false;
  } else {
    messages.push({ role: 'assistant', content: sent.text }, { role: 'user', content: CONTINUE_PROMPT });
  }
  body.messages = messages;
  // The continuation may only produce what the original still could; the content events already sent are tokens.
  for (const key of ['max_tokens', 'max_completion_tokens'] as const) {
    const v = original[key];
    if (typeof v === 'number') body[key] = Math.max(1, v - sent.events); // the caller ends the answer itself at 0
  }
  return JSON.stringify(body);
}

/** Tokens the original request may still produce (undefined when it set no limit). */
export function tokensLeft(original: Record<string, unknown>, sent: { events: number }): number | undefined {
  const v = original.max_completion_tokens ?? original.max_tokens;
  return typeof v === 'number' ? v - sent.events : undefined;
}

/**
 * The end of an answer that was cut after its last allowed token but before its finish event: nothing is left to
 * continue, so the gateway finishes it as the upstream would have (finish_reason "length", then [DONE]).
 */
export function lengthFinish(sent: StreamText, publicModel: string): string {
  const chunk = {
    id: sent.id,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: publicModel,
    choices: [{ index: 0, delta: {}, finish_reason: 'length' }],
  };
  return `data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`;
}
