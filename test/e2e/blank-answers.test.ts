import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { FIRST_CHOICE, fixedUpstream, startStack } from '../helpers/stack.ts';
import { answerText } from '../../src/mock/answer-text.ts';

const messages = [{ role: 'user' as const, content: 'hi' }];
const body = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'chat', messages, max_tokens: 6, ...extra });
const chat = JSON.stringify({
  id: 'c1',
  object: 'chat.completion',
  model: 'chat',
  choices: [{ index: 0, message: { role: 'assistant', content: 'from the raw upstream' }, finish_reason: 'stop' }],
});

const sse = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'chat', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

async function send(url: string, b: string) {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: b,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** Answers 200 with exactly these bytes and this content-type (content-length set: a clean, complete HTTP answer). */
const answer200 =
  (text: string, type = 'application/json') =>
  (_req: unknown, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

const blank200s: { name: string; handler: (req: unknown, res: ServerResponse) => void; stream: boolean }[] = [
  { name: 'an empty body', handler: answer200(''), stream: false },
  { name: 'a body of blank lines only', handler: answer200('\n\n\n\n'), stream: false },
  { name: 'truncated JSON', handler: answer200(chat.slice(0, 70)), stream: false },
  { name: 'an HTML page', handler: answer200('<html><body>502 Bad Gateway</body></html>', 'text/html'), stream: false },
  {
    name: 'an error object with status 200',
    handler: answer200('{"error":{"message":"Server is busy"}}'),
    stream: false,
  },
  {
    name: 'a stream of keep-alives that ends without content or [DONE]',
    handler: answer200(': keep-alive\n\n: keep-alive\n\n', 'text/event-stream'),
    stream: true,
  },
  {
    name: 'a stream cut inside its first event',
    handler: answer200('data: {"id":"c1","choi', 'text/event-stream'),
    stream: true,
  },
  { name: 'a JSON answer to a stream request', handler: answer200(chat), stream: true },
  {
    name: 'a stream that ends after its role-only opening chunk',
    handler: answer200(`${sse({ role: 'assistant', content: '' })}: keep-alive\n\n`, 'text/event-stream'),
    stream: true,
  },
];

for (const c of blank200s) {
  test(`a 200 with ${c.name} is never relayed: it is retried on another upstream`, async (t) => {
    const bad = await fixedUpstream(t, c.handler);
    const { gw } = await startStack(t, {
      config: (urls) => ({
        upstreams: [
          { name: 'bad', url: `${bad.url}/v1`, weight: FIRST_CHOICE },
          { name: 'good', url: `${urls[0]}/v1` },
        ],
        models: { chat: { routes: [{ upstream: 'bad' }, { upstream: 'good' }] } },
      }),
    });
    const r = await send(gw.url, body(c.stream ? { stream: true } : {}));
    assert.equal(r.status, 200);
    assert.equal(bad.hits(), 1);
    assert.equal(r.headers['x-spillway-upstream'], 'good');
    if (c.stream) {
      assert.ok(r.text.endsWith('data: [DONE]\n\n'));
      assert.doesNotMatch(r.text, /keep-alive|error|"choi\n/);
      assert.equal(r.text.match(/"role"/g)?.length, 1, 'one opening chunk: the failed attempt sent none');
    } else {
      assert.equal(JSON.parse(r.text).choices[0].message.content, answerText(1, 'hi', 6));
    }
    const m = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(m, /spillway_upstream_attempts_total\{upstream="bad",outcome="invalid_answer"\} 1/);
  });
}

test('with nowhere else to go, a blank 200 becomes a 502 upstream_error, never an empty body', async (t) => {
  const bad = await fixedUpstream(t, answer200('\n\n'));
  const { gw } = await startStack(t, {
    mocks: [],
    config: () => ({
      upstreams: [{ name: 'bad', url: `${bad.url}/v1` }],
      models: { chat: { routes: [{ upstream: 'bad' }] } },
      retry: { backoff_base: '1ms' },
    }),
  });
  const r = await send(gw.url, body());
  assert.equal(r.status, 502);
  const e = JSON.parse(r.text) as { error: { code: string; message: string } };
  assert.equal(e.error.code, 'upstream_error');
  assert.match(e.error.message, /blank lines only/);
});

test('blank keep-alive lines before a non-stream answer never reach the client', async (t) => {
  // DeepSeek while busy: the 200 at once, blank lines while the request waits, then the JSON body.
  const deepseek = await fixedUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    let lines = 0;
    const tick = () => {
      if (++lines <= 3) {
        res.write('\n', () => setImmediate(tick));
        return;
      }
      res.end(chat);
    };
    tick();
  });
  const { gw } = await startStack(t, {
    mocks: [],
    config: () => ({
      upstreams: [{ name: 'ds', url: deepseek.url }],
      models: { chat: { routes: [{ upstream: 'ds' }] } },
    }),
  });
  const r = await send(gw.url, body());
  assert.equal(r.status, 200);
  assert.equal(r.text, chat, 'exactly the answer, without the blank lines before it');
  assert.equal(Number(r.headers['content-length']), Buffer.byteLength(chat));
});

test('upstream SSE comments inside a stream are dropped by default; the answer is relayed whole', async (t) => {
  const up = await fixedUpstream(
    t,
    answer200(
      `: keep-alive\n\n${sse({ role: 'assistant', content: '' })}: keep-alive\n\n${sse({ content: 'a' })}: ping\n\n${sse({ content: 'b' })}${sse({}, 'stop')}data: [DONE]\n\n`,
      'text/event-stream',
    ),
  );
  const { gw } = await startStack(t, {
    mocks: [],
    config: () => ({ upstreams: [{ name: 'u', url: up.url }], models: { chat: { routes: [{ upstream: 'u' }] } } }),
  });
  const r = await send(gw.url, body({ stream: true }));
  assert.equal(r.status, 200);
  assert.doesNotMatch(r.text, /^:/m);
  const events = r.text.trim().split('\n\n');
  assert.equal(events.length, 5, 'role, a, b, finish, [DONE]');
  assert.equal(
    events
      .map((e) =>
        e === 'data: [DONE]'
          ? ''
          : ((JSON.parse(e.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ??
            ''),
      )
      .join(''),
    'ab',
  );
});
