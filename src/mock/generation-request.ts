import type { PromptCache } from './prompt-cache.ts';
import { randomUUID } from 'node:crypto';
import type { MockError } from './openai-error.ts';
import type { ResolvedOptions } from './options.ts';
import type { Frame } from './pacing.ts';
import { promptText } from './answer-text.ts';
import { continuationOf } from './continuation.ts';

/** What an endpoint hands the request flow once the body is valid: how to write the answer, built only if served. */
export interface Prepared {
  stream: boolean;
  build(): Frame[];
}

type PrepareResult = Prepared | { error: MockError };

/** `promptCache`: DeepSeek's context cache, on a `deepseek` simulator only (prompt-cache.ts). */
export type Prepare = (
  body: Record<string, unknown>,
  opts: ResolvedOptions,
  promptCache?: PromptCache,
) => PrepareResult;

/** The fields of a chat or text completion request that shape the answer. */
export interface Generation {
  model: string;
  prompt: string;
  maxTokens: number;
  /** max_tokens was given: the answer is cut at exactly that many tokens, finish_reason "length". */
  truncated: boolean;
  stream: boolean;
  includeUsage: boolean;
  seed: number;
  /** Tokens of the answer a continuation request already has (0 for a fresh request). */
  skip: number;
}

// Far beyond any test's needs; stops a typo like max_tokens: 1e9 from eating the machine's memory.
const MAX_TOKENS_LIMIT = 100_000;

export function invalid(message: string, param: string | null): { error: MockError } {
  return { error: { status: 400, message, param, code: 'invalid_request_error' } };
}

export function readGeneration(
  body: Record<string, unknown>,
  opts: ResolvedOptions,
): Generation | { error: MockError } {
  if (body.model !== undefined && typeof body.model !== 'string') return invalid('model must be a string', 'model');
  const limit = body.max_tokens ?? body.max_completion_tokens;
  if (limit !== undefined && limit !== null) {
    if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_TOKENS_LIMIT) {
      return invalid(`max_tokens must be an integer from 1 to ${MAX_TOKENS_LIMIT}`, 'max_tokens');
    }
  }
  const streamOptions = body.stream_options;
  const cont = continuationOf(body, opts.kind);
  return {
    model: body.model ?? opts.model,
    prompt: cont?.prompt ?? promptText(body),
    skip: cont?.prefixTokens ?? 0,
    maxTokens: (limit as number | null | undefined) ?? opts.defaultMaxTokens,
    truncated: limit !== undefined && limit !== null,
    stream: body.stream === true,
    includeUsage:
      typeof streamOptions === 'object' &&
      streamOptions !== null &&
      (streamOptions as { include_usage?: unknown }).include_usage === true,
    seed: opts.seed,
  };
}

/** "data: {json}\n\n" — one server-sent event as OpenAI-compatible APIs send them. */
export function sse(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';

/**
 * Placeholders the simulators' answer bodies hold where `spliceTokens` puts the token pieces, one per kind of text
 * (control characters: no answer text contains them).
 */
export const MARK = {
  reasoning: '\u0001reasoning\u0001',
  text: '\u0001text\u0001',
  content: '\u0001content\u0001',
  arguments: '\u0001arguments\u0001',
  thinking: '\u0001thinking\u0001',
  input: '\u0001input\u0001',
} as const;

/** Reasoning tokens a "reasoner" model's answer starts with (chat completions and Responses alike). */
export const REASONING_TOKENS = 4;

/**
 * Turns a pre-serialised JSON body into frames, replacing each marker string with the token pieces that stand for
 * it. Building the body once and splicing keeps the non-stream answer identical to what JSON.stringify would give,
 * while each token stays a separate frame that a cut (reset/stall after N tokens) can stop at.
 */
export function spliceTokens(
  json: string,
  segments: ReadonlyArray<{ marker: string; pieces: readonly string[]; escape: boolean }>,
): Frame[] {
  const ordered = [...segments].sort((a, b) => json.indexOf(a.marker) - json.indexOf(b.marker));
  const frames: Frame[] = [];
  let rest = json;
  for (const s of ordered) {
    const at = rest.indexOf(s.marker);
    if (at < 0) continue;
    if (at > 0) frames.push({ data: rest.slice(0, at), token: false });
    for (const p of s.pieces) frames.push({ data: s.escape ? JSON.stringify(p).slice(1, -1) : p, token: true });
    rest = rest.slice(at + s.marker.length);
  }
  if (rest !== '') frames.push({ data: rest, token: false });
  return frames;
}

export function newId(prefix: string): string {
  return `${prefix}${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
