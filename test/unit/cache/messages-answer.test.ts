import { test } from 'node:test';
import assert from 'node:assert/strict';
import { landedMessage, replayMessageStream } from '../../../src/cache/messages-answer.ts';

type Json = Record<string, unknown>;

const message: Json = {
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'chat',
  content: [
    { type: 'thinking', thinking: 'let me see', signature: 'sig' },
    { type: 'text', text: 'hello there' },
    { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'x', n: [1, 2] } },
    { type: 'server_tool_use', id: 'srv_1', name: 'web_search', input: { query: 'y' } },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: { input_tokens: 10, cache_read_input_tokens: 4, output_tokens: 7 },
};

test('a stored Messages answer replayed as a stream assembles back to the same message', () => {
  const stream = replayMessageStream(message);
  const types = [...stream.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
  assert.equal(types[0], 'message_start');
  assert.equal(types.filter((t) => t === 'message_start').length, 1);
  assert.deepEqual(types.slice(-2), ['message_delta', 'message_stop']);
  assert.deepEqual(landedMessage(200, stream, true), { body: JSON.stringify(message), usage: true });
});

test('only a whole Messages answer is kept: a 200 with message_stop and a stop reason, no error, tool input that parses', () => {
  const stream = replayMessageStream(message);
  const rows: [string, number, string, boolean, boolean][] = [
    ['whole JSON', 200, JSON.stringify(message), false, true],
    ['JSON without a stop reason', 200, JSON.stringify({ ...message, stop_reason: null }), false, false],
    ['not JSON', 200, '{"type":', false, false],
    ['a status other than 200', 529, JSON.stringify(message), false, false],
    ['a chat answer', 200, '{"choices":[{"finish_reason":"stop"}]}', false, false],
    ['a whole stream', 200, stream, true, true],
    ['a stream cut before message_stop', 200, stream.slice(0, stream.indexOf('event: message_stop')), true, false],
    [
      'a stream that ends with an error event',
      200,
      stream.replace(/event: message_stop[^]*$/, 'event: error\ndata: {"type":"error","error":{}}\n\n'),
      true,
      false,
    ],
    ['a tool input that is not JSON', 200, stream.replace('"partial_json":"{', '"partial_json":"{{'), true, false],
    [
      'a delta this gateway does not know',
      200,
      stream.replace('"type":"text_delta"', '"type":"sparkle_delta"'),
      true,
      false,
    ],
  ];
  for (const [name, status, body, isStream, kept] of rows)
    assert.equal(landedMessage(status, body, isStream) !== undefined, kept, name);
});
