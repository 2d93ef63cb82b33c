import { answerTokens, estimateTokens } from './answer-text.ts';
import {
  REASONING_TOKENS,
  MARK,
  invalid,
  newId,
  nowSeconds,
  readGeneration,
  spliceTokens,
  type Generation,
  type Prepare,
} from './generation-request.ts';
import type { Frame } from './pacing.ts';

/**
 * POST /v1/responses in OpenAI's Responses API shapes, on a simulator with the `responses` option (a server that
 * serves the Responses API beside chat completions: OpenAI's, a recent vLLM). The answer is the one chat completions
 * gives for the same conversation as a translation to chat would send it — the instructions, then every input item's
 * text (function call outputs included), joined with "\n" — so a test can compare a passed-through answer with a
 * translated one. A reasoning item comes first when the model name contains "reasoner", a `function_call` to the
 * first function tool (arguments `{"q":"<tokens>"}`, streamed as argument deltas) when tools are given.
 * `previous_response_id` is refused: this simulator keeps no responses (`store` is accepted and ignored), the way a
 * server that keeps none would answer, so a test proves the gateway resolved it itself.
 */

type Json = Record<string, unknown>;

interface Turn extends Generation {
  asked: Json;
  reasoning: string[];
  tool: string | undefined;
  cache: { hit: number; miss: number } | undefined;
}

export const prepareResponses: Prepare = (body, opts, promptCache) => {
  if (body.previous_response_id !== undefined && body.previous_response_id !== null)
    return invalid('previous_response_id: this server keeps no stored responses', 'previous_response_id');
  const messages = chatMessages(body);
  if (messages.length === 0) return invalid("'input' must be a non-empty string or array of items", 'input');
  const limit = body.max_output_tokens;
  const g = readGeneration(
    { model: body.model, messages, ...(limit === undefined || limit === null ? {} : { max_tokens: limit }) },
    opts,
  );
  if ('error' in g) return g;
  const turn: Turn = {
    ...g,
    stream: body.stream === true,
    asked: body,
    reasoning: g.model.includes('reasoner') ? answerTokens(g.seed + 1, g.prompt, REASONING_TOKENS) : [],
    tool: toolName(body),
    cache: undefined,
  };
  return {
    stream: turn.stream,
    build: () => {
      turn.cache = promptCache?.answer(messages);
      return turn.stream ? streamFrames(turn) : bodyFrames(turn);
    },
  };
};

/** The conversation as chat messages carrying the text the answer derives from (mock/answer-text.ts promptText). */
function chatMessages(body: Json): Json[] {
  const out: Json[] = [];
  if (typeof body.instructions === 'string' && body.instructions !== '')
    out.push({ role: 'system', content: body.instructions });
  const input = body.input;
  if (typeof input === 'string') {
    if (input !== '') out.push({ role: 'user', content: input });
    return out;
  }
  if (!Array.isArray(input)) return out;
  for (const item of input as (Json | null)[]) {
    if (item === null || typeof item !== 'object') continue;
    const type = item.type ?? 'message';
    if (type === 'message') out.push({ role: item.role, content: item.content });
    // Consecutive calls are one assistant turn, as a translation to chat sends them.
    else if (type === 'function_call') {
      if (out.at(-1)?.call !== true) out.push({ role: 'assistant', content: null, call: true });
    } else if (type === 'function_call_output')
      out.push({ role: 'tool', content: typeof item.output === 'string' ? item.output : '' });
  }
  return out;
}

function toolName(body: Json): string | undefined {
  if (!Array.isArray(body.tools) || body.tool_choice === 'none') return undefined;
  const first = (body.tools as (Json | null)[]).find((t) => t?.type === 'function');
  if (first === undefined || first === null) return undefined;
  return typeof first.name === 'string' && first.name !== '' ? first.name : 'tool';
}

function pieces(t: Turn): string[] {
  const tokens = answerTokens(t.seed, t.prompt, t.skip + t.maxTokens).slice(t.skip);
  if (t.tool === undefined) return tokens;
  const last = tokens.length - 1;
  return tokens.map((p, i) => (i === 0 ? '{"q":"' : '') + p + (i === last ? '"}' : ''));
}

function usage(t: Turn, output: number): Json {
  const input = estimateTokens(t.prompt);
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: Math.min(input, t.cache?.hit ?? 0) },
    output_tokens: output + t.reasoning.length,
    output_tokens_details: { reasoning_tokens: t.reasoning.length },
    total_tokens: input + output + t.reasoning.length,
  };
}

/** The response object around `output` (every field the API sets, from the request where it echoes it). */
function response(t: Turn, id: string, status: string, output: Json[], u: Json | null): Json {
  const a = t.asked;
  return {
    id,
    object: 'response',
    created_at: nowSeconds(),
    status,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: a.instructions ?? null,
    max_output_tokens: a.max_output_tokens ?? null,
    model: t.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: a.store !== false,
    temperature: a.temperature ?? 1,
    text: a.text ?? { format: { type: 'text' } },
    tool_choice: a.tool_choice ?? 'auto',
    tools: a.tools ?? [],
    top_p: a.top_p ?? 1,
    truncation: 'disabled',
    usage: u,
    user: a.user ?? null,
    metadata: a.metadata ?? {},
  };
}

function finalStatus(t: Turn): string {
  return t.tool === undefined && t.truncated ? 'incomplete' : 'completed';
}

/** The output items, whole, with markers where the generated text goes (the stream fills them in piece by piece). */
interface Items {
  reasoning: Json | undefined;
  answer: Json;
}

function items(t: Turn, text: string, args: string, reasoning: string): Items {
  const answer: Json =
    t.tool === undefined
      ? {
          type: 'message',
          id: newId('msg_'),
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
        }
      : {
          type: 'function_call',
          id: newId('fc_'),
          call_id: newId('call_'),
          name: t.tool,
          arguments: args,
          status: 'completed',
        };
  return {
    reasoning:
      t.reasoning.length === 0
        ? undefined
        : { type: 'reasoning', id: newId('rs_'), summary: [{ type: 'summary_text', text: reasoning }] },
    answer,
  };
}

function bodyFrames(t: Turn): Frame[] {
  const answer = pieces(t);
  const it = items(t, MARK.text, MARK.arguments, MARK.reasoning);
  const output = it.reasoning === undefined ? [it.answer] : [it.reasoning, it.answer];
  const json = JSON.stringify(response(t, newId('resp_'), finalStatus(t), output, usage(t, answer.length)));
  return spliceTokens(json, [
    { marker: JSON.stringify(MARK.reasoning).slice(1, -1), pieces: t.reasoning, escape: false },
    { marker: JSON.stringify(MARK.text).slice(1, -1), pieces: answer, escape: false },
    { marker: JSON.stringify(MARK.arguments).slice(1, -1), pieces: answer, escape: true },
  ]);
}

/** The stream: created, in_progress, each item opened, its pieces as deltas, closed; then completed (or incomplete). */
function streamFrames(t: Turn): Frame[] {
  const answer = pieces(t);
  const id = newId('resp_');
  const frames: Frame[] = [];
  let seq = 0;
  const push = (type: string, data: Json, token = false): void => {
    frames.push({
      data: `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`,
      token,
    });
  };
  const started = response(t, id, 'in_progress', [], null);
  push('response.created', { response: started });
  push('response.in_progress', { response: started });
  const whole = items(t, answer.join(''), answer.join(''), t.reasoning.join(''));
  const output: Json[] = [];
  if (whole.reasoning !== undefined) {
    const r = whole.reasoning;
    const at = { item_id: r.id, output_index: output.length };
    push('response.output_item.added', { output_index: output.length, item: { ...r, summary: [] } });
    push('response.reasoning_summary_part.added', {
      ...at,
      summary_index: 0,
      part: { type: 'summary_text', text: '' },
    });
    for (const p of t.reasoning)
      push('response.reasoning_summary_text.delta', { ...at, summary_index: 0, delta: p }, true);
    const text = t.reasoning.join('');
    push('response.reasoning_summary_text.done', { ...at, summary_index: 0, text });
    push('response.reasoning_summary_part.done', { ...at, summary_index: 0, part: { type: 'summary_text', text } });
    push('response.output_item.done', { output_index: output.length, item: r });
    output.push(r);
  }
  const a = whole.answer;
  const at = { item_id: a.id, output_index: output.length };
  if (t.tool === undefined) {
    push('response.output_item.added', {
      output_index: output.length,
      item: { ...a, status: 'in_progress', content: [] },
    });
    const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
    push('response.content_part.added', { ...at, content_index: 0, part });
    for (const p of answer)
      push('response.output_text.delta', { ...at, content_index: 0, delta: p, logprobs: [] }, true);
    const text = answer.join('');
    push('response.output_text.done', { ...at, content_index: 0, text, logprobs: [] });
    push('response.content_part.done', { ...at, content_index: 0, part: { ...part, text } });
  } else {
    push('response.output_item.added', {
      output_index: output.length,
      item: { ...a, status: 'in_progress', arguments: '' },
    });
    for (const p of answer) push('response.function_call_arguments.delta', { ...at, delta: p }, true);
    push('response.function_call_arguments.done', { ...at, name: t.tool, arguments: answer.join('') });
  }
  push('response.output_item.done', { output_index: output.length, item: a });
  output.push(a);
  const status = finalStatus(t);
  push(status === 'incomplete' ? 'response.incomplete' : 'response.completed', {
    response: response(t, id, status, output, usage(t, answer.length)),
  });
  return frames;
}
