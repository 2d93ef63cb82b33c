import { answerTokens, estimateTokens } from './answer-text.ts';
import {
  MARK,
  invalid,
  newId,
  nowSeconds,
  readGeneration,
  spliceTokens,
  sse,
  SSE_DONE,
  type Generation,
  type Prepare,
} from './generation-request.ts';
import type { Frame } from './pacing.ts';

/** POST /v1/completions: the legacy text completion shape (object "text_completion"), stream and non-stream. */

export const prepareCompletion: Prepare = (body, opts) => {
  const p = body.prompt;
  const ok = typeof p === 'string' || (Array.isArray(p) && p.length > 0);
  if (!ok) return invalid('prompt must be a string or a non-empty array', 'prompt');
  const g = readGeneration(body, opts);
  if ('error' in g) return g;
  return { stream: g.stream, build: () => (g.stream ? streamFrames(g) : bodyFrames(g)) };
};

function usage(g: Generation, completion: number): Record<string, number> {
  const prompt = estimateTokens(g.prompt);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function bodyFrames(g: Generation): Frame[] {
  const tokens = answerTokens(g.seed, g.prompt, g.maxTokens);
  const json = JSON.stringify({
    id: newId('cmpl-'),
    object: 'text_completion',
    created: nowSeconds(),
    model: g.model,
    choices: [{ text: MARK.text, index: 0, logprobs: null, finish_reason: g.truncated ? 'length' : 'stop' }],
    usage: usage(g, tokens.length),
  });
  return spliceTokens(json, [{ marker: JSON.stringify(MARK.text).slice(1, -1), pieces: tokens, escape: false }]);
}

function streamFrames(g: Generation): Frame[] {
  const base = { id: newId('cmpl-'), object: 'text_completion', created: nowSeconds(), model: g.model };
  const chunk = (text: string, finish: string | null): string =>
    sse({ ...base, choices: [{ text, index: 0, logprobs: null, finish_reason: finish }] });
  const tokens = answerTokens(g.seed, g.prompt, g.maxTokens);
  const frames: Frame[] = tokens.map((t) => ({ data: chunk(t, null), token: true }));
  frames.push({ data: chunk('', g.truncated ? 'length' : 'stop'), token: false });
  if (g.includeUsage)
    frames.push({ data: sse({ ...base, choices: [], usage: usage(g, tokens.length) }), token: false });
  frames.push({ data: SSE_DONE, token: false });
  return frames;
}
