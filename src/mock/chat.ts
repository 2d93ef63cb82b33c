import { answerTokens, estimateTokens } from './answer-text.ts';
import {
  REASONING_TOKENS,
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

/**
 * POST /v1/chat/completions in OpenAI's shapes, with DeepSeek's extras: `usage.prompt_cache_hit_tokens` /
 * `prompt_cache_miss_tokens` (hits only on a `deepseek` simulator, which remembers prompts: prompt-cache.ts), and `reasoning_content` before the answer when the model name contains "reasoner".
 * With `tools` (and tool_choice not "none") the answer is a call to the first tool, as OpenAI streams it.
 */

interface Chat extends Generation {
  reasoning: string[];
  /** The prompt's cache hit and miss tokens, known once the answer starts (a refused request warms no cache). */
  cache: { hit: number; miss: number } | undefined;
  /** Name of the tool to call, when answering with a tool call. */
  tool: string | undefined;
}

export const prepareChat: Prepare = (body, opts, promptCache) => {
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return invalid('messages must be a non-empty array', 'messages');
  }
  const g = readGeneration(body, opts);
  if ('error' in g) return g;
  const chat: Chat = {
    ...g,
    reasoning: g.model.includes('reasoner') ? answerTokens(g.seed + 1, g.prompt, REASONING_TOKENS) : [],
    tool: toolName(body),
    cache: undefined,
  };
  const messages = body.messages;
  return {
    stream: chat.stream,
    build: () => {
      chat.cache = promptCache?.answer(messages);
      return chat.stream ? streamFrames(chat) : bodyFrames(chat);
    },
  };
};

function toolName(body: Record<string, unknown>): string | undefined {
  if (!Array.isArray(body.tools) || body.tools.length === 0 || body.tool_choice === 'none') return undefined;
  const first = body.tools[0] as { function?: { name?: unknown } } | null;
  const name = first?.function?.name;
  return typeof name === 'string' && name !== '' ? name : 'tool';
}

/** The answer's pieces: content tokens, or the tool call's arguments `{"q":"<tokens>"}` split one piece per token. */
function pieces(c: Chat): string[] {
  const tokens = answerTokens(c.seed, c.prompt, c.skip + c.maxTokens).slice(c.skip);
  if (c.tool === undefined) return tokens;
  const last = tokens.length - 1;
  return tokens.map((t, i) => (i === 0 ? '{"q":"' : '') + t + (i === last ? '"}' : ''));
}

function usage(c: Chat, completionPieces: number): Record<string, unknown> {
  const prompt = estimateTokens(c.prompt);
  const completion = completionPieces + c.reasoning.length;
  const u: Record<string, unknown> = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_cache_hit_tokens: c.cache?.hit ?? 0,
    prompt_cache_miss_tokens: c.cache?.miss ?? prompt,
  };
  if (c.reasoning.length > 0) u.completion_tokens_details = { reasoning_tokens: c.reasoning.length };
  return u;
}

function finishReason(c: Chat): string {
  return c.tool !== undefined ? 'tool_calls' : c.truncated ? 'length' : 'stop';
}

function bodyFrames(c: Chat): Frame[] {
  const answer = pieces(c);
  const message: Record<string, unknown> = { role: 'assistant' };
  if (c.reasoning.length > 0) message.reasoning_content = MARK.reasoning;
  message.content = c.tool === undefined ? MARK.content : null;
  if (c.tool !== undefined) {
    message.tool_calls = [
      { id: newId('call_'), type: 'function', function: { name: c.tool, arguments: MARK.arguments } },
    ];
  }
  const json = JSON.stringify({
    id: newId('chatcmpl-'),
    object: 'chat.completion',
    created: nowSeconds(),
    model: c.model,
    system_fingerprint: 'fp_spillway_mock',
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(c) }],
    usage: usage(c, answer.length),
  });
  return spliceTokens(json, [
    { marker: JSON.stringify(MARK.reasoning).slice(1, -1), pieces: c.reasoning, escape: false },
    { marker: JSON.stringify(MARK.content).slice(1, -1), pieces: answer, escape: false },
    { marker: JSON.stringify(MARK.arguments).slice(1, -1), pieces: answer, escape: true },
  ]);
}

function streamFrames(c: Chat): Frame[] {
  const base = {
    id: newId('chatcmpl-'),
    object: 'chat.completion.chunk',
    created: nowSeconds(),
    model: c.model,
    system_fingerprint: 'fp_spillway_mock',
  };
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): string =>
    sse({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  const answer = pieces(c);
  const frames: Frame[] = [];
  const toolHeader =
    c.tool === undefined
      ? undefined
      : { index: 0, id: newId('call_'), type: 'function', function: { name: c.tool, arguments: '' } };
  // OpenAI opens a tool call in the role chunk; after reasoning it needs a chunk of its own.
  const opensTool = toolHeader !== undefined && c.reasoning.length === 0;
  frames.push({
    data: chunk(
      opensTool ? { role: 'assistant', content: null, tool_calls: [toolHeader] } : { role: 'assistant', content: '' },
    ),
    token: false,
  });
  for (const r of c.reasoning) frames.push({ data: chunk({ reasoning_content: r }), token: true });
  if (toolHeader !== undefined && !opensTool) frames.push({ data: chunk({ tool_calls: [toolHeader] }), token: false });
  for (const p of answer) {
    const delta = c.tool === undefined ? { content: p } : { tool_calls: [{ index: 0, function: { arguments: p } }] };
    frames.push({ data: chunk(delta), token: true });
  }
  frames.push({ data: chunk({}, finishReason(c)), token: false });
  if (c.includeUsage)
    frames.push({ data: sse({ ...base, choices: [], usage: usage(c, answer.length) }), token: false });
  frames.push({ data: SSE_DONE, token: false });
  return frames;
}
