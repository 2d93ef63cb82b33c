import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCompleteResponse, landedResponse, replayResponseStream } from '../../../src/cache/responses-answer.ts';

type Json = Record<string, unknown>;

const response: Json = {
  id: 'resp_1',
  object: 'response',
  status: 'completed',
  model: 'chat',
  output: [
    { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'let me see' }] },
    {
      type: 'message',
      id: 'msg_1',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'hello there', annotations: [] }],
    },
    {
      type: 'function_call',
      id: 'fc_1',
      call_id: 'call_1',
      name: 'lookup',
      arguments: '{"q":"x"}',
      status: 'completed',
    },
  ],
  usage: { input_tokens: 10, output_tokens: 7, total_tokens: 17 },
};

/** The events of an SSE text, as parsed data objects. */
function events(stream: string): Json[] {
  return [...stream.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1] ?? '{}') as Json);
}

test('a stored Responses answer replayed as a stream lands back as the same response, its text whole in the deltas', () => {
  const stream = replayResponseStream(response);
  const es = events(stream);
  const types = es.map((e) => e.type);
  assert.deepEqual(types.slice(0, 3), ['response.created', 'response.in_progress', 'response.output_item.added']);
  assert.equal(types.at(-1), 'response.completed');
  assert.deepEqual(
    es.map((e) => e.sequence_number),
    es.map((_, i) => i),
  );
  const created = es[0]?.response as Json;
  assert.deepEqual([created.status, created.output], ['in_progress', []]);
  const text = es.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta);
  assert.deepEqual(text, ['hello there']);
  const args = es.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => e.delta);
  assert.deepEqual(args, ['{"q":"x"}']);
  const summary = es.filter((e) => e.type === 'response.reasoning_summary_text.delta').map((e) => e.delta);
  assert.deepEqual(summary, ['let me see']);
  // Each item is announced before its text: empty when added, whole when done.
  const added = es.filter((e) => e.type === 'response.output_item.added').map((e) => e.item as Json);
  assert.deepEqual(
    added.map((i) => [i.content, i.arguments, i.summary]),
    [
      [undefined, undefined, []],
      [[], undefined, undefined],
      [undefined, '', undefined],
    ],
  );
  assert.deepEqual(landedResponse(200, stream, true), { body: JSON.stringify(response), usage: true });
});

test('only a whole response is kept: completed or incomplete, not failed, cut, errored or another status', () => {
  const incomplete = { ...response, status: 'incomplete' };
  assert.equal(events(replayResponseStream(incomplete)).at(-1)?.type, 'response.incomplete');
  assert.deepEqual(landedResponse(200, JSON.stringify(incomplete), false), {
    body: JSON.stringify(incomplete),
    usage: true,
  });
  const stream = replayResponseStream(response);
  const cut = stream.slice(0, stream.lastIndexOf('event: response.completed'));
  const errored = `${cut}event: error\ndata: {"type":"error","code":"stream_interrupted","message":"cut"}\n\n`;
  const rows: [string, number, string, boolean][] = [
    ['a cut stream', 200, cut, true],
    ['an in-band error', 200, errored, true],
    ['a failed response', 200, JSON.stringify({ ...response, status: 'failed' }), false],
    ['an error status', 500, JSON.stringify(response), false],
    ['a chat answer', 200, '{"choices":[]}', false],
    ['not JSON', 200, 'nope', false],
  ];
  for (const [what, status, body, stream] of rows) assert.equal(landedResponse(status, body, stream), undefined, what);
  assert.equal(isCompleteResponse({ ...response, output: undefined }), false);
  assert.equal(isCompleteResponse(response), true);
});
