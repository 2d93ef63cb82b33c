import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { nextEvent, startStack } from '../helpers/stack.ts';

const messages = [{ role: 'user' as const, content: 'hi' }];
type Params = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
/** A request body with the mock's per-request fault field (passed through by the gateway untouched). */
const withFault = (fault: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ({ model: 'chat', messages, max_tokens: 30, mock: fault, ...extra }) as unknown as Params;

async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}, method = 'POST') {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(method === 'GET' ? {} : { body }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: (() => {
      try {
        return JSON.parse(text) as { error: { code: string; message: string; type: string; param: string | null } };
      } catch {
        return undefined;
      }
    })(),
  };
}

test('an upstream 429 whose Retry-After outlasts the deadline surfaces as the SDK RateLimitError with Retry-After', async (t) => {
  const { client } = await startStack(t);
  // With room in its deadline the request would wait for the account's rest to end (pushback); 3 s leaves none.
  await assert.rejects(
    client.chat.completions.create(withFault({ status: 429, retry_after_s: 7 }), {
      headers: { 'x-spillway-deadline-ms': '3000' },
    }),
    (e: unknown) => {
      assert.ok(e instanceof OpenAI.RateLimitError, `got ${String(e)}`);
      assert.equal(e.headers?.get('retry-after'), '7');
      assert.equal((e.error as { code?: string }).code, 'rate_limited');
      return true;
    },
  );
});

test('an upstream 503 answers 503 overloaded with Retry-After', async (t) => {
  const { gw } = await startStack(t);
  const r = await post(`${gw.url}/v1/chat/completions`, JSON.stringify(withFault({ status: 503 })));
  assert.equal(r.status, 503);
  assert.equal(r.json?.error.code, 'overloaded');
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
});

test('a stream reset mid-way surfaces as an SDK APIError, never a clean end', async (t) => {
  const { client } = await startStack(t);
  const stream = await client.chat.completions.create({
    ...withFault({ reset_after_tokens: 5 }),
    stream: true,
  } as unknown as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
  let tokens = 0;
  await assert.rejects(
    async () => {
      for await (const c of stream) if (c.choices[0]?.delta.content) tokens++;
    },
    (e: unknown) => {
      assert.ok(e instanceof OpenAI.APIError, `got ${String(e)}`);
      assert.match(e.message, /interrupted/);
      return true;
    },
  );
  assert.equal(tokens, 5);
});

test('the in-band error event is the last thing on the wire, with a stable code', async (t) => {
  const { gw } = await startStack(t);
  const r = await post(
    `${gw.url}/v1/chat/completions`,
    JSON.stringify({ ...withFault({ reset_after_tokens: 3 }), stream: true }),
  );
  assert.equal(r.status, 200);
  const events = r.text.trim().split('\n\n');
  const last = JSON.parse((events.at(-1) ?? '').replace(/^data: /, '')) as { error: { code: string } };
  assert.equal(last.error.code, 'stream_interrupted');
  assert.doesNotMatch(r.text, /\[DONE\]/);
  assert.match(await metricsText(gw.url), /spillway_streams_interrupted_total\{model="chat",upstream="mock0"\} 1\n/);
});

test('an upstream that stalls before its first token times out with 504 upstream_timeout', async (t) => {
  const { gw } = await startStack(t, {
    config: (urls) => ({
      upstreams: [{ name: 'm', url: `${urls[0]}/v1`, timeouts: { first_token: '200ms' } }],
      models: { chat: { routes: [{ upstream: 'm' }] } },
    }),
  });
  const r = await post(`${gw.url}/v1/chat/completions`, JSON.stringify(withFault({ ttft_ms: 60_000 })));
  assert.equal(r.status, 504);
  assert.equal(r.json?.error.code, 'upstream_timeout');
  assert.match(r.json?.error.message ?? '', /first token/);
});

test('an upstream that holds a non-stream request on blank lines past the first-token timeout is overloaded (pushback), not a stall', async (t) => {
  const { gw } = await startStack(t, {
    config: (urls) => ({
      upstreams: [{ name: 'm', url: `${urls[0]}/v1`, timeouts: { first_token: '200ms' } }],
      models: { chat: { routes: [{ upstream: 'm' }] } },
    }),
  });
  const r = await post(
    `${gw.url}/v1/chat/completions`,
    JSON.stringify(withFault({ blank_lines_before: 1000, ttft_ms: 60_000 })),
  );
  assert.equal(r.status, 503);
  assert.equal(r.json?.error.code, 'overloaded');
  assert.match(r.json?.error.message ?? '', /own queue/);
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
});

test('keep-alive comments on a stream do not count as a first token, and by default never reach the client', async (t) => {
  const { gw, mocks } = await startStack(t, {
    config: (urls) => ({
      upstreams: [{ name: 'm', url: `${urls[0]}/v1`, timeouts: { first_token: '300ms' } }],
      models: { chat: { routes: [{ upstream: 'm' }] } },
    }),
  });
  const aborted = nextEvent(mocks[0]!.events, 'aborted');
  const r = await post(
    `${gw.url}/v1/chat/completions`,
    JSON.stringify({ ...withFault({ blank_lines_before: 100, ttft_ms: 10_000 }), stream: true }),
  );
  assert.equal(r.status, 503, 'nothing was committed: the failure is a clean HTTP error');
  assert.equal(r.json?.error.code, 'overloaded');
  assert.doesNotMatch(r.text, /^: keep-alive/m, 'no upstream comment was relayed');
  await aborted;
  // A stream refused with an HTTP error was never interrupted: its client got a status, not a cut stream.
  assert.doesNotMatch(await metricsText(gw.url), /^spillway_streams_interrupted_total\{/m);
});

test('with server.sse_comments on, keep-alive comments are relayed and still do not count as a first token', async (t) => {
  const { gw, mocks } = await startStack(t, {
    config: (urls) => ({
      server: { sse_comments: true },
      upstreams: [{ name: 'm', url: `${urls[0]}/v1`, timeouts: { first_token: '300ms' } }],
      models: { chat: { routes: [{ upstream: 'm' }] } },
    }),
  });
  const aborted = nextEvent(mocks[0]!.events, 'aborted');
  const r = await post(
    `${gw.url}/v1/chat/completions`,
    JSON.stringify({ ...withFault({ blank_lines_before: 100, ttft_ms: 10_000 }), stream: true }),
  );
  assert.equal(r.status, 200, 'the stream had started with the upstream headers');
  assert.match(r.text, /^: keep-alive\n\n/, 'keep-alive comments were relayed');
  const last = r.text.trim().split('\n\n').at(-1) ?? '';
  assert.match(last, /"code":"stream_interrupted"/);
  assert.match(last, /first token timeout/);
  await aborted; // the upstream request was aborted, not left running
});

test('bad requests get OpenAI-shaped errors with stable codes', async (t) => {
  const { gw } = await startStack(t);
  const u = `${gw.url}/v1/chat/completions`;
  const cases: { name: string; run: () => ReturnType<typeof post>; status: number; code: string; param?: string }[] = [
    { name: 'malformed JSON', run: () => post(u, '{"model":'), status: 400, code: 'invalid_json' },
    {
      name: 'missing model',
      run: () => post(u, JSON.stringify({ messages })),
      status: 400,
      code: 'invalid_request',
      param: 'model',
    },
    {
      name: 'missing messages',
      run: () => post(u, JSON.stringify({ model: 'chat' })),
      status: 400,
      code: 'invalid_request',
      param: 'messages',
    },
    {
      name: 'unknown model',
      run: () => post(u, JSON.stringify({ model: 'gpt-9', messages })),
      status: 404,
      code: 'model_not_found',
      param: 'model',
    },
    {
      name: 'body over the limit',
      run: () => post(u, Buffer.alloc(11 * 1024 * 1024, 0x20)),
      status: 413,
      code: 'body_too_large',
    },
    { name: 'wrong method', run: () => post(u, '', {}, 'GET'), status: 405, code: 'method_not_allowed' },
    { name: 'unknown path', run: () => post(`${gw.url}/v1/nothing`, '{}'), status: 404, code: 'not_found' },
  ];
  for (const c of cases) {
    const r = await c.run();
    assert.equal(r.status, c.status, c.name);
    assert.equal(r.json?.error.code, c.code, c.name);
    assert.equal(typeof r.json?.error.message, 'string', c.name);
    assert.equal(typeof r.json?.error.type, 'string', c.name);
    if (c.param !== undefined) assert.equal(r.json?.error.param, c.param, c.name);
    assert.ok(r.headers.get('x-request-id'), `${c.name} has a request id`);
  }
});

test("an upstream 4xx passes through with the upstream's status and message", async (t) => {
  const { client } = await startStack(t);
  await assert.rejects(client.chat.completions.create(withFault({ status: 400 })), (e: unknown) => {
    assert.ok(e instanceof OpenAI.BadRequestError, `got ${String(e)}`);
    return true;
  });
  await assert.rejects(client.chat.completions.create(withFault({ status: 422 })), (e: unknown) => {
    assert.ok(e instanceof OpenAI.UnprocessableEntityError, `got ${String(e)}`);
    return true;
  });
});

test('an upstream auth failure is a 502 for the client and a configuration error in the log', async (t) => {
  const { gw, logs } = await startStack(t, {
    mocks: [{ apiKeys: ['sk-right-key-000000'] }],
    config: (urls) => ({
      upstreams: [{ name: 'm', url: `${urls[0]}/v1`, api_key: 'sk-wrong-key-000000' }],
      models: { chat: { routes: [{ upstream: 'm' }] } },
    }),
  });
  const r = await post(`${gw.url}/v1/chat/completions`, JSON.stringify({ model: 'chat', messages }));
  assert.equal(r.status, 502);
  assert.equal(r.json?.error.code, 'upstream_auth_failed');
  assert.ok(logs.records().some((l) => l.level === 50 && /refused this API key/.test(String(l.msg))));
});

test('an upstream that refuses connections is a 502 upstream_error, answered at once', async (t) => {
  const { gw } = await startStack(t, {
    config: () => ({
      upstreams: [{ name: 'down', url: 'http://127.0.0.1:9/v1' }],
      models: { chat: { routes: [{ upstream: 'down' }] } },
    }),
  });
  const r = await post(`${gw.url}/v1/chat/completions`, JSON.stringify({ model: 'chat', messages }));
  assert.equal(r.status, 502);
  assert.equal(r.json?.error.code, 'upstream_error');
});
