import { answerTokens, estimateTokens } from './answer-text.ts';
import {
  MARK,
  invalid,
  newId,
  readGeneration,
  spliceTokens,
  type Generation,
  type Prepare,
} from './generation-request.ts';
import type { Frame } from './pacing.ts';
import { countTokens } from './continuation.ts';

/**
 * POST /v1/messages (and DeepSeek's /anthropic/v1/messages) in the Anthropic Messages API's shapes, on a simulator
 * whose `api` serves it: the same deterministic answer as chat completions gives for the same conversation (the
 * system prompt, then every turn's text, joined with "\n", as a translation to chat would send it), thinking blocks
 * first when thinking is enabled or the model name contains "reasoner", a `tool_use` block calling the first tool
 * (input `{"q":"<tokens>"}`, streamed as input_json_delta pieces) when tools are given. Errors are in Anthropic's
 * shape (openai-error.ts). A last assistant turn is a prefill: the answer continues after its tokens. Faults,
 * pacing, busy answers and limits are the same as for chat.
 */
const THINKING_TOKENS = 4;

interface Message extends Generation {
  thinking: string[];
  tool: string | undefined;
  cache: { hit: number; miss: number } | undefined;
}

export const prepareMessages: Prepare = (body, opts, promptCache) => {
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return invalid('messages: at least one message is required', 'messages');
  if (!Number.isInteger(body.max_tokens)) return invalid('max_tokens: Field required', 'max_tokens');
  const g = readGeneration(body, opts);
  if ('error' in g) return g;
  // A last assistant turn is a prefill: the answer continues it (the Messages API's way to continue an answer), so
  // the simulator goes on with its deterministic answer after the prefill's tokens.
  const prefill = prefillText(body.messages.at(-1));
  const turns = prefill === undefined ? body : { ...body, messages: body.messages.slice(0, -1) };
  const prompt = messagesPrompt(turns);
  if (prefill !== undefined) g.skip = countTokens(prefill);
  const thinkingOn =
    g.model.includes('reasoner') || (body.thinking as { type?: unknown } | undefined)?.type === 'enabled';
  const m: Message = {
    ...g,
    prompt,
    thinking: thinkingOn ? answerTokens(g.seed + 1, prompt, THINKING_TOKENS) : [],
    tool: toolName(body),
    cache: undefined,
  };
  const messages = body.messages;
  return {
    stream: m.stream,
    build: () => {
      m.cache = promptCache?.answer(messages);
      return m.stream ? streamFrames(m) : bodyFrames(m);
    },
  };
};

/** The text the answer derives from: the system prompt, then each turn's text blocks, joined with "\n". */
function messagesPrompt(body: Record<string, unknown>): string {
  const parts: string[] = [];
  const system = body.system;
  if (typeof system === 'string' && system !== '') parts.push(system);
  if (Array.isArray(system))
    parts.push(
      system
        .map((b) => (typeof (b as { text?: unknown } | null)?.text === 'string' ? (b as { text: string }).text : ''))
        .join('\n'),
    );
  for (const turn of body.messages as unknown[]) {
    const content = (turn as { content?: unknown } | null)?.content;
    if (typeof content === 'string') parts.push(content);
    else if (Array.isArray(content))
      parts.push(
        content
          .map((b) => (typeof (b as { text?: unknown } | null)?.text === 'string' ? (b as { text: string }).text : ''))
          .join(''),
      );
    else parts.push('');
  }
  return parts.join('\n');
}

/** The text of a prefill (a last assistant turn of text), else undefined. */
function prefillText(turn: unknown): string | undefined {
  const t = turn as { role?: unknown; content?: unknown } | null;
  if (t?.role !== 'assistant') return undefined;
  if (typeof t.content === 'string') return t.content;
  if (!Array.isArray(t.content)) return undefined;
  return t.content
    .map((b) => (typeof (b as { text?: unknown } | null)?.text === 'string' ? (b as { text: string }).text : ''))
    .join('');
}

function toolName(body: Record<string, unknown>): string | undefined {
  if (!Array.isArray(body.tools) || body.tools.length === 0) return undefined;
  if ((body.tool_choice as { type?: unknown } | undefined)?.type === 'none') return undefined;
  const name = (body.tools[0] as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== '' ? name : 'tool';
}

function pieces(m: Message): string[] {
  const tokens = answerTokens(m.seed, m.prompt, m.skip + m.maxTokens).slice(m.skip);
  if (m.tool === undefined) return tokens;
  const last = tokens.length - 1;
  return tokens.map((t, i) => (i === 0 ? '{"q":"' : '') + t + (i === last ? '"}' : ''));
}

function stopReason(m: Message): string {
  return m.tool !== undefined ? 'tool_use' : m.truncated ? 'max_tokens' : 'end_turn';
}

function usage(m: Message, output: number): Record<string, number> {
  const prompt = estimateTokens(m.prompt);
  const hit = Math.min(prompt, m.cache?.hit ?? 0);
  return {
    input_tokens: prompt - hit,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: hit,
    output_tokens: output,
  };
}

function bodyFrames(m: Message): Frame[] {
  const answer = pieces(m);
  const content: Record<string, unknown>[] = [];
  if (m.thinking.length > 0) content.push({ type: 'thinking', thinking: MARK.thinking, signature: 'mock-signature' });
  if (m.tool === undefined) content.push({ type: 'text', text: MARK.text });
  else content.push({ type: 'tool_use', id: newId('toolu_'), name: m.tool, input: MARK.input });
  const json = JSON.stringify({
    id: newId('msg_'),
    type: 'message',
    role: 'assistant',
    model: m.model,
    content,
    stop_reason: stopReason(m),
    stop_sequence: null,
    usage: usage(m, answer.length + m.thinking.length),
  });
  // The tool's input is an object in a whole answer: its marker (a string) is replaced with the object's JSON.
  return spliceTokens(json, [
    { marker: JSON.stringify(MARK.thinking).slice(1, -1), pieces: m.thinking, escape: false },
    { marker: JSON.stringify(MARK.text).slice(1, -1), pieces: answer, escape: false },
    { marker: JSON.stringify(MARK.input), pieces: answer, escape: false },
  ]);
}

function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

function streamFrames(m: Message): Frame[] {
  const answer = pieces(m);
  const frames: Frame[] = [];
  const push = (type: string, data: Record<string, unknown>, token = false): void => {
    frames.push({ data: event(type, data), token });
  };
  push('message_start', {
    message: {
      id: newId('msg_'),
      type: 'message',
      role: 'assistant',
      model: m.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usage(m, 0), output_tokens: 1 },
    },
  });
  push('ping', {});
  let index = 0;
  if (m.thinking.length > 0) {
    push('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } });
    for (const t of m.thinking)
      push('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: t } }, true);
    push('content_block_delta', { index, delta: { type: 'signature_delta', signature: 'mock-signature' } });
    push('content_block_stop', { index });
    index++;
  }
  if (m.tool === undefined) {
    push('content_block_start', { index, content_block: { type: 'text', text: '' } });
    for (const p of answer) push('content_block_delta', { index, delta: { type: 'text_delta', text: p } }, true);
  } else {
    push('content_block_start', {
      index,
      content_block: { type: 'tool_use', id: newId('toolu_'), name: m.tool, input: {} },
    });
    for (const p of answer)
      push('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: p } }, true);
  }
  push('content_block_stop', { index });
  push('message_delta', {
    delta: { stop_reason: stopReason(m), stop_sequence: null },
    usage: { output_tokens: answer.length + m.thinking.length },
  });
  push('message_stop', {});
  return frames;
}
