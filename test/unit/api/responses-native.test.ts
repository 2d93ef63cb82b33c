import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerMessage, chatToItems, nativeResponsesBody } from '../../../src/api/responses/responses-native.ts';
import { responsesToChat } from '../../../src/api/responses/responses-request.ts';
import type { StoredResponse } from '../../../src/api/responses/response-store.ts';
import { nativeBody } from '../../../src/retry/messages-routes.ts';
import type { Call } from '../../../src/server/context.ts';

type Json = Record<string, unknown>;

const stored: StoredResponse = {
  response: { id: 'resp_a' },
  instructions: 'Be brief',
  messages: [
    { role: 'system', content: 'From a developer item' },
    { role: 'user', content: 'Find it' },
    {
      role: 'assistant',
      content: null,
      reasoning_content: 'thinking',
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }],
    },
    { role: 'tool', tool_call_id: 'call_1', content: 'found' },
    { role: 'assistant', content: 'It is here.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'And this?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,AA' } },
      ],
    },
  ],
};

test('the stored conversation goes upstream as input items that translate back to the same chat messages (less reasoning)', () => {
  const items = chatToItems(stored.messages);
  assert.deepEqual(
    items.map((i) => i.type),
    ['message', 'message', 'function_call', 'function_call_output', 'message', 'message'],
  );
  const back = responsesToChat({ model: 'm', input: items }, () => undefined).chat.messages as Json[];
  const { reasoning_content: _dropped, ...callTurn } = stored.messages[2] as Json;
  assert.deepEqual(back, [stored.messages[0], stored.messages[1], callTurn, ...stored.messages.slice(3)]);
});

test('a passed-through request is stateless: previous_response_id expanded before its own input, store false', () => {
  const asked = { model: 'm', previous_response_id: 'resp_a', input: 'Next', instructions: 'Now', store: true, x: 1 };
  const body = nativeResponsesBody(asked, stored);
  assert.equal('previous_response_id' in body, false);
  assert.equal(body.store, false);
  assert.equal(body.instructions, 'Now', "this turn's instructions only, as OpenAI does");
  assert.equal(body.x, 1, 'other fields pass as they are');
  const input = body.input as Json[];
  assert.deepEqual(input.slice(0, -1), chatToItems(stored.messages));
  assert.deepEqual(input.at(-1), { type: 'message', role: 'user', content: 'Next' });
  // Without a previous response, the input is the client's own.
  assert.deepEqual(nativeResponsesBody({ model: 'm', input: 'Hi' }, undefined), {
    model: 'm',
    input: 'Hi',
    store: false,
  });
});

test('a passed-through answer is kept as the chat message a translated one is: text, reasoning summary, function calls', () => {
  const r = {
    object: 'response',
    output: [
      { type: 'reasoning', id: 'rs', summary: [{ type: 'summary_text', text: 'hm' }] },
      {
        type: 'message',
        role: 'assistant',
        content: [
          { type: 'output_text', text: 'Sure. ' },
          { type: 'refusal', refusal: 'No.' },
        ],
      },
      { type: 'function_call', call_id: 'call_2', name: 'f', arguments: '{}' },
      { type: 'web_search_call', id: 'ws' },
    ],
  };
  assert.deepEqual(answerMessage(r), {
    role: 'assistant',
    content: 'Sure. No.',
    reasoning_content: 'hm',
    tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'f', arguments: '{}' } }],
  });
  assert.deepEqual(answerMessage({ output: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' }] }), {
    role: 'assistant',
    content: null,
    tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
  });
});

test("degrade mode's lower max_tokens caps a passed-through Responses request's max_output_tokens, or sets it", () => {
  const call = (asked: Json): Call =>
    ({ body: {}, native: { api: 'responses', body: asked, headers: {} } }) as unknown as Call;
  const rows: [Json, Json, unknown][] = [
    [{ max_output_tokens: 100 }, { max_tokens: 10 }, 10],
    [{ max_output_tokens: 5 }, { max_tokens: 5 }, 5],
    [{}, { max_tokens: 10 }, 10],
    [{}, {}, undefined],
  ];
  for (const [asked, chat, want] of rows)
    assert.equal(nativeBody(call(asked), chat).max_output_tokens, want, JSON.stringify([asked, chat]));
  assert.equal(nativeBody(call({}), { max_tokens: 10 }).max_tokens, undefined, "the Responses field, not chat's");
});
