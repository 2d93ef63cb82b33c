import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAnswer, isEventStream, leadingBlankBytes } from '../../../src/relay/answer-check.ts';

const chat = JSON.stringify({
  id: 'c1',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1 },
});
const embeddings = JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1] }] });

test('a 200 that is not an answer of its endpoint is refused, with why: table', () => {
  const json = 'application/json';
  const cases: {
    name: string;
    endpoint: 'chat' | 'completions' | 'embeddings';
    type: string | undefined;
    body: string;
    want: string | undefined;
  }[] = [
    { name: 'a chat completion', endpoint: 'chat', type: json, body: chat, want: undefined },
    {
      name: 'a completion',
      endpoint: 'completions',
      type: 'application/json; charset=utf-8',
      body: chat,
      want: undefined,
    },
    { name: 'embeddings', endpoint: 'embeddings', type: json, body: embeddings, want: undefined },
    { name: 'no content-type, valid body', endpoint: 'chat', type: undefined, body: chat, want: undefined },
    { name: 'blank lines, then the answer', endpoint: 'chat', type: json, body: `\n\n\n${chat}`, want: undefined },
    { name: 'empty body', endpoint: 'chat', type: json, body: '', want: 'empty body' },
    {
      name: 'blank lines only (a busy DeepSeek)',
      endpoint: 'chat',
      type: json,
      body: '\n\n \r\n\t\n',
      want: 'body of blank lines only',
    },
    {
      name: 'truncated JSON',
      endpoint: 'chat',
      type: json,
      body: chat.slice(0, 60),
      want: 'truncated or invalid JSON',
    },
    {
      name: 'truncated right after a brace',
      endpoint: 'chat',
      type: json,
      body: chat.slice(0, chat.indexOf('}') + 1),
      want: 'truncated or invalid JSON',
    },
    {
      name: 'an HTML page',
      endpoint: 'chat',
      type: 'text/html',
      body: '<html>busy</html>',
      want: 'content-type text/html instead of JSON',
    },
    { name: 'HTML claiming JSON', endpoint: 'chat', type: json, body: '<html>busy</html>', want: 'body is not JSON' },
    { name: 'a JSON array', endpoint: 'chat', type: json, body: '[1]', want: 'body is not a JSON object' },
    {
      name: 'an error object with 200',
      endpoint: 'chat',
      type: json,
      body: '{"error":{"message":"busy"}}',
      want: 'an error object with status 200',
    },
    { name: 'no choices', endpoint: 'chat', type: json, body: '{"id":"x"}', want: 'JSON without choices' },
    {
      name: 'empty choices',
      endpoint: 'chat',
      type: json,
      body: '{"id":"x","choices":[]}',
      want: 'JSON without choices',
    },
    {
      name: 'a chat answer on the embeddings endpoint',
      endpoint: 'embeddings',
      type: json,
      body: chat,
      want: 'JSON without data',
    },
  ];
  for (const c of cases) {
    const r = checkAnswer(c.endpoint, c.type, Buffer.from(c.body));
    assert.equal(r.ok ? undefined : r.detail, c.want, c.name);
  }
});

test('the checked answer is the upstream bytes without the blank lines before them', () => {
  const r = checkAnswer('chat', 'application/json', Buffer.from(`\n\n${chat}`));
  assert.ok(r.ok);
  assert.equal(r.body.toString('utf8'), chat);
  assert.deepEqual(r.usage, { promptTokens: 1, completionTokens: 1, promptCacheHitTokens: 0 });
  assert.equal(leadingBlankBytes(Buffer.from(' \r\n\tx')), 4);
  assert.equal(leadingBlankBytes(Buffer.from('')), 0);
});

test('a stream must be an event stream (absent content-type is given the benefit of the doubt)', () => {
  assert.equal(isEventStream('text/event-stream; charset=utf-8'), true);
  assert.equal(isEventStream(undefined), true);
  assert.equal(isEventStream('application/json'), false);
  assert.equal(isEventStream('text/html'), false);
});

test('a large answer gets the structural check only (no stall of the event loop on a parse of megabytes)', () => {
  const big = JSON.stringify({
    object: 'list',
    data: [{ object: 'embedding', index: 0, embedding: Array.from({ length: 200_000 }, (_v, i) => i / 7) }],
    usage: { prompt_tokens: 3, completion_tokens: 0 },
  });
  assert.ok(big.length > 1024 * 1024);
  const ok = checkAnswer('embeddings', 'application/json', Buffer.from(`\n${big}\n`));
  assert.ok(ok.ok);
  assert.equal(ok.usage?.promptTokens, 3);
  const cut = checkAnswer('embeddings', 'application/json', Buffer.from(big.slice(0, big.length - 40)));
  assert.equal(cut.ok ? undefined : cut.detail, 'truncated or invalid JSON');
  const wrong = checkAnswer('chat', 'application/json', Buffer.from(big));
  assert.equal(wrong.ok ? undefined : wrong.detail, 'JSON without choices');
});
