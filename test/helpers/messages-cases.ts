import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { answerText } from '../../src/mock/answer-text.ts';
import { FIRST_CHOICE } from './stack.ts';

/**
 * Cases the Messages door must pass the same way whether the request is translated for an OpenAI-only upstream
 * (anthropic-sdk.test.ts) or passed through to a Messages upstream (anthropic-passthrough.test.ts). The mock
 * answers both from the same text, so the expected answers are the same.
 */
export const prompt = 'Tell me a story';

/** Model "chat" on a Messages-only upstream first (FIRST_CHOICE), then an OpenAI-only one (the mocks' URLs in order). */
export function nativeFirstThenOpenAi(urls: string[]): Record<string, unknown> {
  return {
    upstreams: [
      { name: 'native', url: urls[0], api: 'anthropic' },
      { name: 'openai', url: `${urls[1]}/v1` },
    ],
    models: {
      chat: {
        routes: [
          { upstream: 'native', weight: FIRST_CHOICE },
          { upstream: 'openai', weight: 1 },
        ],
      },
    },
  };
}

/**
 * A multi-turn conversation with a system prompt, once with `messages.create` (system as a string) and once with
 * `messages.stream` (system as text blocks): the exact text both times. Returns the stream's event types and its
 * final message, for what each door checks beyond that.
 */
export async function multiTurnWithSystem(
  anthropic: Anthropic,
  model: string,
): Promise<{ events: string[]; final: Anthropic.Message }> {
  const messages: Anthropic.MessageParam[] = [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: [{ type: 'text', text: 'Hello' }] },
    { role: 'user', content: [{ type: 'text', text: prompt }] },
  ];
  const expected = answerText(1, `Be brief\nHi\nHello\n${prompt}`, 20);
  const m = await anthropic.messages.create({ model, max_tokens: 20, system: 'Be brief', messages });
  assert.equal(m.content[0]?.type === 'text' ? m.content[0].text : undefined, expected);
  const stream = anthropic.messages.stream({
    model,
    max_tokens: 20,
    system: [{ type: 'text', text: 'Be brief' }],
    messages,
  });
  const events: string[] = [];
  stream.on('streamEvent', (e) => events.push(e.type));
  const final = await stream.finalMessage();
  assert.equal(await stream.finalText(), expected);
  assert.equal(final.stop_reason, 'max_tokens');
  assert.equal(final.usage.output_tokens, 20);
  assert.equal(events[0], 'message_start');
  assert.deepEqual(events.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
  return { events, final };
}

/** A streamed call of the tool `lookup`: the final message, its tool_use block, and the joined input_json_delta pieces. */
export async function streamedToolCall(
  anthropic: Anthropic,
  model: string,
  maxTokens: number,
): Promise<{ use: Anthropic.ToolUseBlock; partial: string }> {
  const tools: Anthropic.Tool[] = [
    { name: 'lookup', description: 'find', input_schema: { type: 'object', properties: { q: { type: 'string' } } } },
  ];
  const stream = anthropic.messages.stream({
    model,
    max_tokens: maxTokens,
    messages: [{ role: 'user', content: prompt }],
    tools,
    tool_choice: { type: 'auto' },
  });
  let partial = '';
  stream.on('inputJson', (delta) => (partial += delta));
  const final = await stream.finalMessage();
  assert.equal(final.stop_reason, 'tool_use');
  const use = final.content.find((b) => b.type === 'tool_use');
  assert.ok(use !== undefined && use.type === 'tool_use');
  assert.equal(use.name, 'lookup');
  return { use, partial };
}

/** The tool's result sent back as a tool_result block: the next answer is text again. */
export async function toolResultTurn(anthropic: Anthropic, model: string, use: Anthropic.ToolUseBlock): Promise<void> {
  const next = await anthropic.messages.create({
    model,
    max_tokens: 5,
    messages: [
      { role: 'user', content: prompt },
      { role: 'assistant', content: [{ type: 'tool_use', id: use.id, name: 'lookup', input: use.input }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'found it' }] },
    ],
  });
  assert.equal(next.stop_reason, 'max_tokens');
  assert.equal(next.content[0]?.type, 'text');
}

/** An SDK error in Anthropic's overloaded shape: 529 `overloaded_error`, with a `retry-after` a client can wait on. */
export function isOverloaded529(e: unknown): boolean {
  assert.ok(e instanceof Anthropic.APIError, `got ${String(e)}`);
  assert.equal(e.status, 529);
  assert.equal((e.error as { error: { type: string } }).error.type, 'overloaded_error');
  assert.ok(Number(e.headers?.get('retry-after')) >= 1);
  return true;
}
