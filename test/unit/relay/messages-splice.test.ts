import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessagesSplice } from '../../../src/relay/messages-splice.ts';
import { MessagesText, event } from '../../../src/relay/messages-text.ts';
import { clientPrefill, messagesContinuationBody } from '../../../src/retry/messages-routes.ts';
import { continuesMessages } from '../../../src/retry/continuation.ts';
import type { Call } from '../../../src/server/context.ts';
import type { Lease } from '../../../src/balance/lease.ts';

type Json = Record<string, unknown>;

/** Events as an upstream writes them, with their type and parsed data. */
const ev = (type: string, data: Json = {}): { type: string; text: string; data: Json } => ({
  type,
  text: event(type, data).slice(0, -2),
  data: { type, ...data },
});
const textStart = (index: number) => ev('content_block_start', { index, content_block: { type: 'text', text: '' } });
const textDelta = (index: number, text: string) =>
  ev('content_block_delta', { index, delta: { type: 'text_delta', text } });

function withoutType(data: Json): Json {
  const { type: _type, ...rest } = data;
  return rest;
}

function record(track: MessagesText, events: { type: string; data: Json }[]): void {
  for (const e of events) track.record(e.type, e.data);
}

/** What the client receives for a continuation's events, parsed back, recorded by `track` as the relay does. */
function splice(track: MessagesText, events: ReturnType<typeof ev>[]): Json[] {
  const s = new MessagesSplice(track);
  const out: Json[] = [];
  for (const e of events) {
    for (const piece of s.map(e.type, e.text, e.data).split('\n\n')) {
      if (piece === '') continue;
      const data = JSON.parse(piece.slice(piece.indexOf('data: ') + 6)) as Json;
      track.record(data.type as string, data);
      out.push(data);
    }
  }
  return out;
}

const continuation = [
  ev('message_start', { message: { id: 'msg_2', content: [], usage: { input_tokens: 9, output_tokens: 1 } } }),
  ev('ping'),
  textStart(0),
  textDelta(0, 'c '),
  textDelta(0, 'd'),
  ev('content_block_stop', { index: 0 }),
  ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 2 } }),
  ev('message_stop'),
];

test('a continuation of a block cut open goes on in that block: no second message_start, same index, its own stop', () => {
  const track = new MessagesText();
  record(track, [
    textStart(0),
    textDelta(0, 'a '),
    ev('content_block_stop', { index: 0 }),
    textStart(1),
    textDelta(1, 'b '),
  ]);
  assert.deepEqual([track.open, track.nextIndex, track.events, track.text], [1, 2, 2, 'a b ']);
  const out = splice(track, continuation);
  assert.deepEqual(
    out.map((e) => [e.type, e.index]),
    [
      ['content_block_delta', 1],
      ['content_block_delta', 1],
      ['content_block_stop', 1],
      ['message_delta', undefined],
      ['message_stop', undefined],
    ],
  );
  assert.equal(track.text, 'a b c d');
  assert.equal((out[3]?.usage as Json).output_tokens, 2);
});

test('a cut between blocks: the continuation opens the next index; a thinking block of its own is left out', () => {
  const track = new MessagesText();
  record(track, [textStart(0), textDelta(0, 'a '), ev('content_block_stop', { index: 0 })]);
  const thinking = [
    ev('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }),
    ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }),
    ev('content_block_stop', { index: 0 }),
  ];
  const shifted = continuation.map((e) =>
    typeof e.data.index === 'number' ? ev(e.type, { ...withoutType(e.data), index: 1 }) : e,
  );
  const out = splice(track, [...shifted.slice(0, 2), ...thinking, ...shifted.slice(2)]);
  assert.deepEqual(
    out.map((e) => [e.type, e.index]),
    [
      ['content_block_start', 1],
      ['content_block_delta', 1],
      ['content_block_delta', 1],
      ['content_block_stop', 1],
      ['message_delta', undefined],
      ['message_stop', undefined],
    ],
  );
  assert.equal(track.text, 'a c d');
  assert.equal(track.continuable, true);
});

test('a cut block is closed when the continuation goes on with another kind of block, or with nothing', () => {
  const track = new MessagesText();
  record(track, [textStart(0), textDelta(0, 'a ')]);
  const tool = ev('content_block_start', {
    index: 0,
    content_block: { type: 'tool_use', id: 't', name: 'x', input: {} },
  });
  assert.deepEqual(
    splice(track, [tool]).map((e) => [e.type, e.index]),
    [
      ['content_block_stop', 0],
      ['content_block_start', 1],
    ],
  );
  const empty = new MessagesText();
  record(empty, [textStart(0), textDelta(0, 'a ')]);
  assert.deepEqual(
    splice(empty, continuation.slice(-2)).map((e) => [e.type, e.index]),
    [
      ['content_block_stop', 0],
      ['message_delta', undefined],
      ['message_stop', undefined],
    ],
  );
});

test('only an answer of text blocks can be continued; one cut after message_delta is closed, not continued', () => {
  const rows: [string, { type: string; data: Json }[], boolean][] = [
    ['text', [textStart(0), textDelta(0, 'a')], true],
    ['thinking', [ev('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } })], false],
    [
      'tool input',
      [ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{' } })],
      false,
    ],
    ['an unknown event', [ev('content_block_wobble', { index: 0 })], false],
  ];
  for (const [name, events, want] of rows) {
    const t = new MessagesText();
    record(t, events);
    assert.equal(t.continuable, want, name);
  }
  const t = new MessagesText();
  t.record('content_block_delta', undefined);
  assert.equal(t.continuable, false, 'an event that did not parse');
  const done = new MessagesText();
  record(done, [textStart(0), textDelta(0, 'a'), ev('content_block_stop', { index: 0 })]);
  assert.equal(
    done.closing(),
    event('message_delta', {
      delta: { stop_reason: 'max_tokens', stop_sequence: null },
      usage: { output_tokens: 1 },
    }) + event('message_stop', {}),
  );
  record(done, [ev('message_delta', { delta: { stop_reason: 'end_turn' } })]);
  assert.equal(done.closing(), event('message_stop', {}));
  const open = new MessagesText();
  record(open, [textStart(3), textDelta(3, 'a')]);
  assert.ok(open.closing().startsWith(event('content_block_stop', { index: 3 })));
});

test('the continuation request is the original with the text so far as a prefill and the tokens left', () => {
  const native = { model: 'chat', max_tokens: 30, stream: true, messages: [{ role: 'user', content: 'q' }] };
  const call = { body: { max_tokens: 30 }, native: { body: native } } as unknown as Call;
  const lease = { route: { model: 'up-model', params: undefined } } as unknown as Lease;
  const body = JSON.parse(messagesContinuationBody(call, lease, { text: 'a b ', events: 2 })) as Json;
  assert.deepEqual(body, {
    model: 'up-model',
    max_tokens: 28,
    stream: true,
    messages: [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'a b ' },
    ],
  });
  const own = {
    ...native,
    messages: [...native.messages, { role: 'assistant', content: [{ type: 'text', text: 'x ' }] }],
  };
  const withOwn = JSON.parse(
    messagesContinuationBody({ ...call, native: { body: own } } as unknown as Call, lease, { text: 'a', events: 1 }),
  ) as { messages: Json[] };
  assert.deepEqual(withOwn.messages.at(-1), { role: 'assistant', content: 'x a' });
  assert.equal(clientPrefill([{ role: 'user', content: 'q' }]), undefined);
  assert.equal(clientPrefill([{ role: 'assistant', content: [{ type: 'tool_use' }] }]), null);
});

test('a Messages answer is continued by prefill on DeepSeek with auto, anywhere with an explicit mode, never with off', () => {
  const rows: [Parameters<typeof continuesMessages>[0], Parameters<typeof continuesMessages>[1], boolean][] = [
    ['auto', 'deepseek', true],
    ['auto', 'openai', false],
    ['auto', 'vllm', false],
    ['prefix', 'openai', true],
    ['off', 'deepseek', false],
  ];
  for (const [setting, kind, want] of rows) assert.equal(continuesMessages(setting, kind), want, `${setting} ${kind}`);
});
