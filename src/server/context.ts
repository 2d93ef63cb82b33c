import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayKey, ModelConfig } from '../config/types.ts';
import type { Settles } from '../pipeline.ts';
import type { Priority } from '../priority.ts';
import type { RequestTrace } from '../observe/tracing-types.ts';
import type { NativeApi } from '../upstream/upstream-api.ts';

export type Endpoint = 'chat' | 'completions' | 'embeddings' | 'models';

/**
 * A door other than OpenAI's chat/completions routes: the Anthropic Messages API (and its count_tokens) or the OpenAI
 * Responses API (and a stored response by id). Requests through them run the same pipeline as chat completions.
 */
export type Door = 'anthropic' | 'anthropic_count' | 'responses' | 'responses_get';

/** A parsed API call: what the client asked for, with its body kept for pass-through. */
export interface Call {
  endpoint: Exclude<Endpoint, 'models'>;
  /** The public model name the client asked for. */
  model: string;
  stream: boolean;
  /** The parsed body; unknown fields are kept untouched. */
  body: Record<string, unknown>;
  /** The body's exact bytes, sent as they are when the upstream model name equals the public one (degrade mode may rewrite them). */
  raw: Buffer;
  /**
   * A Messages or Responses door request: its own body, passed through untranslated to an upstream that serves its
   * API (`upstreams[].api`), while `body` is its chat translation for every other upstream and for the stages before
   * dispatch. Each attempt chooses by the upstream it lands on.
   */
  native?: NativeCall;
}

interface NativeCall {
  /** The door's protocol: the Anthropic Messages API or OpenAI's Responses API. */
  api: NativeApi;
  /**
   * The request as an upstream of that API gets it (the route's model name replaces `model`): a Messages request as
   * the client sent it; a Responses one with its `previous_response_id` expanded from Spillway's store into `input`.
   */
  body: Readonly<Record<string, unknown>>;
  /** The client's headers the API reads (`anthropic-version`, `anthropic-beta`; none for Responses). */
  headers: Readonly<Record<string, string>>;
  /** Switches the door's response between translating chat answers and passing a Messages answer through. */
  passThrough(on: boolean): void;
  /**
   * A response of the door's own in front of `res`, with its switch: the answer cache's shared flight writes through
   * one, so what it records and shares is a Messages answer whichever way each attempt went (cache/flight.ts).
   */
  door(res: ServerResponse): { res: ServerResponse; passThrough(on: boolean): void };
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  promptCacheHitTokens: number;
  /**
   * Prompt tokens the upstream's context cache did not hold, when the upstream reports the split (DeepSeek's
   * `prompt_cache_miss_tokens`, or OpenAI's `prompt_tokens_details.cached_tokens` out of `prompt_tokens`).
   */
  promptCacheMissTokens?: number;
}

/**
 * Everything the stages of one request share. Stages fill it in request order; the server writes the log line
 * and metrics from it when the response ends.
 */
export interface RequestContext extends Settles {
  readonly id: string;
  readonly req: IncomingMessage;
  /** Not readonly: a door's stage puts its translating response in front of the socket's (src/api/door-stage.ts). */
  res: ServerResponse;
  /** The door the request came in by (undefined: an OpenAI chat/completions/embeddings/models route). */
  door: Door | undefined;
  /** Clock time (ms) when the request arrived. */
  readonly startedAt: number;
  /** Clock time (ms) by which the client needs its answer. */
  deadlineAt: number;
  /** Aborted when the client goes away before its answer is complete. */
  readonly clientGone: AbortSignal;
  endpoint: Endpoint;
  body: Buffer | undefined;
  call: Call | undefined;
  tenant: string | undefined;
  /** The gateway key that authenticated the request (undefined without gateway keys). */
  gatewayKey: GatewayKey | undefined;
  /** Scheduling class: from `x-spillway-priority`, capped by the tenant. */
  priority: Priority;
  allowedModels: readonly string[] | null;
  model: ModelConfig | undefined;
  /** Set by the degrade stage while degrade mode is on (absent: no degrade trigger configured). */
  degraded?: boolean;
  /** What the client asked for before degrade mode changed the model or the body (the cache looks it up first). */
  undegraded?: { model: ModelConfig; body: Readonly<Record<string, unknown>> };
  // Filled in as the request is served; read by the access log and metrics.
  upstream: string | undefined;
  attempts: number;
  /** Time spent waiting on upstreams (ms), for the gateway-overhead metric. */
  upstreamMs: number;
  ttftMs: number | undefined;
  errorCode: string | undefined;
  usage: Usage | undefined;
  /** The request's span; undefined while tracing is off (the trace stage is then not in the pipeline). */
  trace: RequestTrace | undefined;
  settled: boolean;
}

/**
 * What serving fills in, before anything is served: a request as it arrives, and a shared cache flight that serves
 * a leader's request again on its own account (cache/flight.ts), both start from this.
 */
export function unserved(): Pick<
  RequestContext,
  'upstream' | 'attempts' | 'upstreamMs' | 'ttftMs' | 'errorCode' | 'usage' | 'settled'
> {
  return {
    upstream: undefined,
    attempts: 0,
    upstreamMs: 0,
    ttftMs: undefined,
    errorCode: undefined,
    usage: undefined,
    settled: false,
  };
}
