import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scoreAnswer } from '../../../src/storm/score.ts';
import { answerTokens } from '../../../src/mock/answer-text.ts';

const tokens = answerTokens(1, 'p', 5);
const expected = tokens.join('');
const ev = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;
const stream = (parts: string[], end = 'data: [DONE]\n\n') => `: keep-alive\n\n${parts.map(ev).join('')}${end}`;

test('the storm scorer judges recorded streams as a client would', () => {
  const cases: { name: string; body: string; want: string }[] = [
    { name: 'complete stream', body: stream(tokens), want: 'ok' },
    { name: 'truncated: no [DONE], no error', body: stream(tokens.slice(0, 3), ''), want: 'silent_truncation' },
    { name: '[DONE] after missing tokens', body: stream(tokens.slice(0, 4)), want: 'incomplete_answer' },
    { name: 'out of order', body: stream([tokens[0]!, tokens[2]!, tokens[1]!, tokens[3]!, tokens[4]!]), want: 'out_of_order' },
    { name: 'duplicated token', body: stream([tokens[0]!, tokens[1]!, tokens[1]!, tokens[2]!, tokens[3]!, tokens[4]!]), want: 'out_of_order' },
    { name: 'error event', body: stream(tokens.slice(0, 2), 'data: {"error":{"message":"x","code":"stream_interrupted"}}\n\n'), want: 'error_event:stream_interrupted' },
    { name: 'garbled event', body: `${ev(tokens[0]!)}data: {"choi\n\n`, want: 'malformed_event' },
    { name: 'CRLF framing', body: stream(tokens).replace(/\n/g, '\r\n'), want: 'ok' },
  ];
  for (const c of cases) {
    const v = scoreAnswer({ status: 200, stream: true, body: c.body }, expected);
    assert.equal(v.ok ? 'ok' : v.reason, c.want, c.name);
  }
  const silent = scoreAnswer({ status: 200, stream: true, body: stream(tokens.slice(0, 3), '') }, expected);
  assert.equal(!silent.ok && silent.silentTruncation, true);
  const loud = scoreAnswer({ status: 200, stream: true, body: stream([], 'data: {"error":{"code":"x"}}\n\n') }, expected);
  assert.equal(!loud.ok && loud.silentTruncation, false, 'an explicit error is honest, not silent');
});

test('the storm scorer judges non-stream answers and HTTP errors', () => {
  const json = (content: string) => JSON.stringify({ choices: [{ message: { content } }] });
  const cases: { a: Parameters<typeof scoreAnswer>[0]; want: string }[] = [
    { a: { status: 200, stream: false, body: json(expected) }, want: 'ok' },
    { a: { status: 200, stream: false, body: `\n\n\n${json(expected)}` }, want: 'ok' },
    { a: { status: 200, stream: false, body: json(tokens.slice(0, 2).join('')) }, want: 'incomplete_answer' },
    { a: { status: 200, stream: false, body: json('something else') }, want: 'wrong_content' },
    { a: { status: 200, stream: false, body: '{"choices":[' }, want: 'malformed_json' },
    { a: { status: 429, stream: false, body: '{"error":{"code":"rate_limited"}}' }, want: 'http_429:rate_limited' },
    { a: { status: 503, stream: true, body: 'busy' }, want: 'http_503' },
    { a: { status: 0, stream: true, body: '', clientError: 'deadline' }, want: 'client_deadline' },
    { a: { status: 0, stream: false, body: '', clientError: 'connection' }, want: 'connection_error' },
  ];
  for (const c of cases) {
    const v = scoreAnswer(c.a, expected);
    assert.equal(v.ok ? 'ok' : v.reason, c.want, JSON.stringify(c.a).slice(0, 80));
  }
});
