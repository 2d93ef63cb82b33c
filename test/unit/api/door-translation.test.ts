import { test } from 'node:test';
import assert from 'node:assert/strict';
import { messagesToChat } from '../../../src/api/anthropic/messages-request.ts';
import { MessagesTranslator, chatToMessage } from '../../../src/api/anthropic/messages-translator.ts';
import { anthropicErrorType, anthropicStatus } from '../../../src/api/anthropic/anthropic-error.ts';
import { responsesToChat } from '../../../src/api/responses/responses-request.ts';
import { SpillwayError } from '../../../src/errors.ts';

test('a Messages request becomes the chat body: system, images, tool results before the user text, thinking as reasoning_content', () => {
  const chat = messagesToChat({
    model: 'm',
    max_tokens: 9,
    system: [
      { type: 'text', text: 'a' },
      { type: 'text', text: 'b' },
    ],
    stop_sequences: ['END'],
    metadata: { user_id: 'u1' },
    tools: [{ name: 'f', description: 'd', input_schema: { type: 'object' } }],
    tool_choice: { type: 'any', disable_parallel_tool_use: true },
    thinking: { type: 'enabled', budget_tokens: 100 },
    top_k: 5,
    vendor_switch: true,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAA' } },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'hmm', signature: 's' },
          { type: 'tool_use', id: 't1', name: 'f', input: { x: 1 } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'r' }] },
          { type: 'text', text: 'and?' },
        ],
      },
    ],
  });
  assert.deepEqual(chat, {
    model: 'm',
    max_tokens: 9,
    stop: ['END'],
    user: 'u1',
    vendor_switch: true,
    tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object' } } }],
    tool_choice: 'required',
    parallel_tool_calls: false,
    thinking: { type: 'enabled' },
    messages: [
      { role: 'system', content: 'a\nb' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAA' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        reasoning_content: 'hmm',
        tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }],
      },
      { role: 'tool', tool_call_id: 't1', content: 'r' },
      { role: 'user', content: 'and?' },
    ],
  });
});

test('Messages requests that cannot be translated are invalid_request errors naming the field', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ model: 'm', messages: [{ role: 'user', content: 'x' }] }, /max_tokens/],
    [{ model: 'm', max_tokens: 1, messages: [] }, /messages/],
    [{ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'document' }] }] }, /document/],
    [
      {
        model: 'm',
        max_tokens: 1,
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'web_search_20250305', name: 'w' }],
      },
      /server tools/,
    ],
    [
      { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }], tool_choice: { type: 'tool' } },
      /tool_choice.name/,
    ],
  ];
  for (const [body, message] of cases) {
    assert.throws(
      () => messagesToChat(body),
      (e: unknown) => e instanceof SpillwayError && e.code === 'invalid_request' && message.test(e.message),
    );
  }
});

test('a chat completion becomes a Message: thinking, text and tool_use blocks, stop reason, usage with cache reads', () => {
  const m = chatToMessage({
    id: 'chatcmpl-abc',
    model: 'pub',
    choices: [
      {
        index: 0,
        finish_reason: 'tool_calls',
        message: {
          role: 'assistant',
          reasoning_content: 'r',
          content: 't',
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":2}' } }],
        },
      },
    ],
    usage: { prompt_tokens: 10, completion_tokens: 4, prompt_cache_hit_tokens: 6 },
  });
  assert.deepEqual(m, {
    id: 'msg_abc',
    type: 'message',
    role: 'assistant',
    model: 'pub',
    stop_reason: 'tool_use',
    stop_sequence: null,
    content: [
      { type: 'thinking', thinking: 'r', signature: '' },
      { type: 'text', text: 't' },
      { type: 'tool_use', id: 'c1', name: 'f', input: { a: 2 } },
    ],
    usage: { input_tokens: 4, output_tokens: 4, cache_creation_input_tokens: 0, cache_read_input_tokens: 6 },
  });
});

function events(sse: string): { event: string; data: Record<string, unknown> }[] {
  return sse
    .split('\n\n')
    .filter((e) => e !== '')
    .map((e) => {
      const [ev, data] = e.split('\n');
      return { event: (ev ?? '').slice(7), data: JSON.parse((data ?? '').slice(6)) as Record<string, unknown> };
    });
}

test('chat chunks become Messages events: one block per kind, tool arguments as input_json_delta, usage at the end', () => {
  const t = new MessagesTranslator();
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    t.chunk({ id: 'chatcmpl-1', model: 'pub', choices: [{ index: 0, delta, finish_reason: finish }] });
  let out = chunk({ role: 'assistant', content: '' });
  out += chunk({ reasoning_content: 'think' });
  out += chunk({ content: 'Hi' });
  out += chunk({ tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '' } }] });
  out += chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] });
  out += chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] });
  out += chunk({}, 'tool_calls');
  out += t.chunk({ id: 'chatcmpl-1', model: 'pub', choices: [], usage: { prompt_tokens: 3, completion_tokens: 5 } });
  out += t.done();
  const got = events(out).map(
    (e) =>
      `${e.event}${e.data.index === undefined ? '' : `#${e.data.index as number}`}${(e.data.delta as { type?: string } | undefined)?.type === undefined ? '' : `:${String((e.data.delta as { type: string }).type)}`}`,
  );
  assert.deepEqual(got, [
    'message_start',
    'ping',
    'content_block_start#0',
    'content_block_delta#0:thinking_delta',
    'content_block_stop#0',
    'content_block_start#1',
    'content_block_delta#1:text_delta',
    'content_block_stop#1',
    'content_block_start#2',
    'content_block_delta#2:input_json_delta',
    'content_block_delta#2:input_json_delta',
    'content_block_stop#2',
    'message_delta',
    'message_stop',
  ]);
  const delta = events(out).find((e) => e.event === 'message_delta')?.data;
  assert.deepEqual(delta, {
    type: 'message_delta',
    delta: { stop_reason: 'tool_use', stop_sequence: null },
    usage: { input_tokens: 3, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  });
  assert.equal(t.done(), '', '[DONE] twice closes once');
});

test("error statuses map to Anthropic's: busy is 529 overloaded_error, limits 429 rate_limit_error", () => {
  const table: [number, number, string][] = [
    [400, 400, 'invalid_request_error'],
    [401, 401, 'authentication_error'],
    [403, 403, 'permission_error'],
    [404, 404, 'not_found_error'],
    [413, 413, 'request_too_large'],
    [429, 429, 'rate_limit_error'],
    [500, 500, 'api_error'],
    [502, 502, 'api_error'],
    [503, 529, 'overloaded_error'],
    [504, 504, 'timeout_error'],
    [507, 507, 'api_error'],
  ];
  for (const [ours, status, type] of table) {
    assert.equal(anthropicStatus(ours), status, String(ours));
    assert.equal(anthropicErrorType(ours), type, String(ours));
  }
});

test('Responses input items become chat messages; previous_response_id puts the stored conversation first', () => {
  const stored = {
    response: { id: 'resp_1' },
    messages: [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'answer' },
    ],
    instructions: 'old',
  };
  const turn = responsesToChat(
    {
      model: 'm',
      instructions: 'new',
      previous_response_id: 'resp_1',
      max_output_tokens: 7,
      text: { format: { type: 'json_object' } },
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }],
      tool_choice: { type: 'function', name: 'f' },
      input: [
        { type: 'message', role: 'developer', content: 'dev' },
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'why' }] },
        { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
        { type: 'function_call', call_id: 'c2', name: 'f', arguments: '{"b":1}' },
        { type: 'function_call_output', call_id: 'c1', output: 'one' },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'hi' },
            { type: 'input_image', image_url: 'http://x/y.png' },
          ],
        },
      ],
    },
    (id) => (id === 'resp_1' ? stored : undefined),
  );
  assert.equal(turn.previousId, 'resp_1');
  assert.deepEqual(turn.chat, {
    model: 'm',
    max_tokens: 7,
    response_format: { type: 'json_object' },
    tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
    tool_choice: { type: 'function', function: { name: 'f' } },
    messages: [
      { role: 'system', content: 'new' },
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'answer' },
      { role: 'system', content: 'dev' },
      {
        role: 'assistant',
        content: null,
        reasoning_content: 'why',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } },
          { id: 'c2', type: 'function', function: { name: 'f', arguments: '{"b":1}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'one' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'hi' },
          { type: 'image_url', image_url: { url: 'http://x/y.png' } },
        ],
      },
    ],
  });
  assert.throws(
    () => responsesToChat({ model: 'm', input: 'x', previous_response_id: 'resp_gone' }, () => undefined),
    (e: unknown) => e instanceof SpillwayError && e.code === 'response_not_found',
  );
});
