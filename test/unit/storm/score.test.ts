import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerFacts, scoreAnswer } from '../../../src/storm/score.ts';
import { carriesUpstreamBusy } from '../../../src/mock/busy-text.ts';
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
    {
      name: 'out of order',
      body: stream([tokens[0]!, tokens[2]!, tokens[1]!, tokens[3]!, tokens[4]!]),
      want: 'out_of_order',
    },
    {
      name: 'duplicated token',
      body: stream([tokens[0]!, tokens[1]!, tokens[1]!, tokens[2]!, tokens[3]!, tokens[4]!]),
      want: 'out_of_order',
    },
    {
      name: 'error event',
      body: stream(tokens.slice(0, 2), 'data: {"error":{"message":"x","code":"stream_interrupted"}}\n\n'),
      want: 'error_event:stream_interrupted',
    },
    { name: 'garbled event', body: `${ev(tokens[0]!)}data: {"choi\n\n`, want: 'malformed_event' },
    { name: 'CRLF framing', body: stream(tokens).replace(/\n/g, '\r\n'), want: 'ok' },
  ];
  for (const c of cases) {
    const v = scoreAnswer({ status: 200, stream: true, body: c.body }, expected);
    assert.equal(v.ok ? 'ok' : v.reason, c.want, c.name);
  }
  const silent = scoreAnswer({ status: 200, stream: true, body: stream(tokens.slice(0, 3), '') }, expected);
  assert.equal(!silent.ok && silent.silentTruncation, true);
  const loud = scoreAnswer(
    { status: 200, stream: true, body: stream([], 'data: {"error":{"code":"x"}}\n\n') },
    expected,
  );
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

test('answer facts tell blank and invalid bodies, silent truncations, relayed upstream busy and refusals apart', () => {
  const json = (o: unknown) => JSON.stringify(o);
  const completion = json({ object: 'chat.completion', choices: [{ message: { content: expected } }] });
  const busy503 = json({ error: { message: 'Server is busy, please try again later', code: 'server_overloaded' } });
  const wrapped = json({
    error: { message: "Upstream 'a' is overloaded: Server is busy, please try again later", code: 'overloaded' },
  });
  const ours = json({ error: { message: 'the queue ahead cannot finish in time', code: 'deadline_unmeetable' } });
  type Want = {
    errorCode?: string;
    invalidBody?: string;
    silentTruncation?: boolean;
    upstreamBusy?: boolean;
    refusal?: boolean;
  };
  const cases: { name: string; status: number; stream: boolean; body: string; clientError?: 'deadline'; want: Want }[] =
    [
      { name: 'a whole completion', status: 200, stream: false, body: `\n\n${completion}`, want: {} },
      { name: 'blank 200', status: 200, stream: false, body: '\n\n\n', want: { invalidBody: 'blank' } },
      { name: 'empty 200', status: 200, stream: false, body: '', want: { invalidBody: 'blank' } },
      {
        name: 'cut JSON',
        status: 200,
        stream: false,
        body: completion.slice(0, 30),
        want: { invalidBody: 'invalid_json' },
      },
      {
        name: 'an HTML page',
        status: 200,
        stream: false,
        body: '<html></html>',
        want: { invalidBody: 'invalid_json' },
      },
      {
        name: 'error after keep-alive lines',
        status: 200,
        stream: false,
        body: `\n\n${busy503}`,
        want: { errorCode: 'server_overloaded', upstreamBusy: true, refusal: true },
      },
      {
        name: 'upstream 503 as is',
        status: 503,
        stream: false,
        body: busy503,
        want: { errorCode: 'server_overloaded', upstreamBusy: true, refusal: true },
      },
      {
        name: 'upstream 503 wrapped by a gateway',
        status: 503,
        stream: false,
        body: wrapped,
        want: { errorCode: 'overloaded', upstreamBusy: true, refusal: true },
      },
      {
        name: "the gateway's own refusal",
        status: 429,
        stream: false,
        body: ours,
        want: { errorCode: 'deadline_unmeetable', refusal: true },
      },
      {
        name: 'a 502 is no refusal',
        status: 502,
        stream: false,
        body: json({ error: { code: 'upstream_error' } }),
        want: { errorCode: 'upstream_error' },
      },
      { name: 'a whole stream', status: 200, stream: true, body: stream(tokens), want: {} },
      {
        name: 'stream cut cleanly',
        status: 200,
        stream: true,
        body: stream(tokens.slice(0, 2), ''),
        want: { silentTruncation: true },
      },
      { name: 'blank stream', status: 200, stream: true, body: '\n\n', want: { silentTruncation: true } },
      {
        name: 'stream ending in an error after content',
        status: 200,
        stream: true,
        body: stream(tokens.slice(0, 2), `data: ${wrapped}\n\n`),
        want: { errorCode: 'overloaded', upstreamBusy: true },
      },
      {
        name: 'in-band refusal after keep-alives',
        status: 200,
        stream: true,
        body: `: keep-alive\n\ndata: ${ours}\n\n`,
        want: { errorCode: 'deadline_unmeetable', refusal: true },
      },
      {
        name: 'the client gave up',
        status: 200,
        stream: true,
        body: ': keep-alive\n\n',
        clientError: 'deadline',
        want: {},
      },
    ];
  for (const c of cases) {
    const f = answerFacts(
      { status: c.status, stream: c.stream, body: c.body, clientError: c.clientError },
      carriesUpstreamBusy,
    );
    const want = {
      errorCode: undefined,
      invalidBody: undefined,
      silentTruncation: false,
      upstreamBusy: false,
      refusal: false,
      ...c.want,
    };
    assert.deepEqual(f, want, c.name);
  }
});
