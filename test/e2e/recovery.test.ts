import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { FIRST_CHOICE, fixedUpstream, startStack } from '../helpers/stack.ts';
import { answerText } from '../../src/mock/answer-text.ts';

const messages = [{ role: 'user' as const, content: 'hi' }];
const body = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'chat', messages, max_tokens: 6, ...extra });

async function send(url: string, b: string, headers: Record<string, string> = {}) {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: b,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** A real failure (not "busy", which is pushback): what the retry loop's attempt cap and budgets are about. */
const failing = () => (_req: unknown, res: ServerResponse) => {
  res.writeHead(500, { 'content-type': 'application/json' });
  res.end('{"error":{"message":"Internal server error","type":"server_error","code":"internal_error"}}');
};

const overloaded = (retryAfter?: string) => (_req: unknown, res: ServerResponse) => {
  res.writeHead(503, {
    'content-type': 'application/json',
    ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
  });
  res.end('{"error":{"message":"Server is busy, please try again later","type":"server_error","code":"overloaded"}}');
};

test('fails over to B when A resets before headers', async (t) => {
  const { gw, mocks } = await startStack(t, {
    mocks: [{}],
    config: (urls) => ({
      upstreams: [
        { name: 'a', url: 'http://127.0.0.1:9/v1', weight: FIRST_CHOICE },
        { name: 'b', url: `${urls[0]}/v1` },
      ],
      models: { chat: { routes: [{ upstream: 'a' }, { upstream: 'b' }] } },
    }),
  });
  const r = await send(gw.url, body());
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-spillway-upstream'], 'b');
  assert.equal(r.headers['x-spillway-attempts'], '2');
  assert.equal(JSON.parse(r.text).choices[0].message.content, answerText(1, 'hi', 6));
  assert.equal(mocks[0]!.stats().completed, 1);
});

test('fails over when A is overloaded, and a stream that fails before its first token is retried invisibly', async (t) => {
  const a = await fixedUpstream(t, overloaded('1'));
  const { gw } = await startStack(t, {
    config: (urls) => ({
      upstreams: [
        { name: 'a', url: `${a.url}/v1`, weight: FIRST_CHOICE },
        { name: 'b', url: `${urls[0]}/v1` },
      ],
      models: { chat: { routes: [{ upstream: 'a' }, { upstream: 'b' }] } },
    }),
  });
  const r = await send(gw.url, body({ stream: true }));
  assert.equal(r.status, 200);
  assert.ok(r.text.endsWith('data: [DONE]\n\n'));
  assert.doesNotMatch(r.text, /error/);
  assert.equal(a.hits(), 1);
});

test('a 400 is never retried', async (t) => {
  const { gw, mocks } = await startStack(t, { mocks: [{}, {}] });
  const r = await send(gw.url, body({ mock: { status: 400 } }));
  assert.equal(r.status, 400);
  assert.equal(mocks[0]!.stats().received + mocks[1]!.stats().received, 1);
});

test('attempts are capped, and the client hears the last real failure', async (t) => {
  const a = await fixedUpstream(t, failing());
  const b = await fixedUpstream(t, failing());
  const c = await fixedUpstream(t, failing());
  const d = await fixedUpstream(t, failing());
  const { gw } = await startStack(t, {
    config: () => ({
      upstreams: [a, b, c, d].map((u, i) => ({ name: `u${i}`, url: `${u.url}/v1` })),
      models: { chat: { routes: [0, 1, 2, 3].map((i) => ({ upstream: `u${i}` })) } },
      retry: { max_attempts: 3, backoff_base: '1ms' },
    }),
  });
  const r = await send(gw.url, body());
  assert.equal(r.status, 502);
  assert.match(r.text, /"code":"upstream_error"/);
  assert.equal(a.hits() + b.hits() + c.hits() + d.hits(), 3, 'max_attempts');
});

test('a request that is already an SDK retry gets fewer gateway retries', async (t) => {
  const ups = await Promise.all([0, 1, 2].map(() => fixedUpstream(t, failing())));
  const { gw } = await startStack(t, {
    config: () => ({
      upstreams: ups.map((u, i) => ({ name: `u${i}`, url: `${u.url}/v1` })),
      models: { chat: { routes: [0, 1, 2].map((i) => ({ upstream: `u${i}` })) } },
      retry: { max_attempts: 3, backoff_base: '1ms' },
    }),
  });
  await send(gw.url, body(), { 'x-stainless-retry-count': '2' });
  assert.equal(
    ups.reduce((s, u) => s + u.hits(), 0),
    1,
  );
});

test('Retry-After is honoured on the only upstream, but never slept past the deadline', async (t) => {
  const a = await fixedUpstream(t, overloaded('30'));
  const { gw } = await startStack(t, {
    config: () => ({
      upstreams: [{ name: 'a', url: `${a.url}/v1` }],
      models: { chat: { routes: [{ upstream: 'a' }] } },
    }),
  });
  const r = await send(gw.url, body(), { 'x-spillway-deadline-ms': '2000' });
  assert.equal(r.status, 503);
  assert.equal(r.headers['retry-after'], '30');
  assert.equal(a.hits(), 1, 'waiting 30 s cannot fit a 2 s deadline, so the gateway answered at once');
});

test('when the retry budget is spent, failures are answered at once without retrying', async (t) => {
  const a = await fixedUpstream(t, failing());
  const b = await fixedUpstream(t, failing());
  const { gw } = await startStack(t, {
    config: () => ({
      upstreams: [
        { name: 'a', url: `${a.url}/v1` },
        { name: 'b', url: `${b.url}/v1` },
      ],
      models: { chat: { routes: [{ upstream: 'a' }, { upstream: 'b' }] } },
      retry: { budget_ratio: 0, budget_min_per_second: 0.2, budget_window: '10s', backoff_base: '1ms' },
      health: { failure_threshold: 1000 },
    }),
  });
  const results = [];
  for (let i = 0; i < 10; i++) results.push(await send(gw.url, body()));
  assert.ok(results.every((r) => r.status === 502));
  assert.equal(a.hits() + b.hits(), 10 + 2, 'ten first attempts plus the floor of two retries in the window');
  const m = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(m, /spillway_retry_stops_total\{why="budget"\} \d+/);
});

test('a model falls back to another public model when none of its routes can serve, and says so', async (t) => {
  const { gw } = await startStack(t, {
    config: (urls) => ({
      upstreams: [
        { name: 'down', url: 'http://127.0.0.1:9/v1' },
        { name: 'm', url: `${urls[0]}/v1` },
      ],
      models: {
        'deepseek-reasoner': { routes: [{ upstream: 'down' }], fallback: ['deepseek-chat'] },
        'deepseek-chat': { routes: [{ upstream: 'm' }] },
      },
    }),
  });
  const r = await send(gw.url, JSON.stringify({ model: 'deepseek-reasoner', messages, max_tokens: 4 }));
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-spillway-model'], 'deepseek-chat');
  assert.equal(r.headers['x-spillway-upstream'], 'm');
  assert.equal(JSON.parse(r.text).model, 'deepseek-chat');
});

test('a 429 rests that account: the next request goes elsewhere without trying it', async (t) => {
  const a = await fixedUpstream(t, (_req, res) => {
    res
      .writeHead(429, { 'retry-after': '20', 'content-type': 'application/json' })
      .end('{"error":{"message":"Rate limit reached"}}');
  });
  const { gw, mocks } = await startStack(t, {
    config: (urls) => ({
      upstreams: [
        { name: 'a', url: `${a.url}/v1`, weight: FIRST_CHOICE },
        { name: 'b', url: `${urls[0]}/v1` },
      ],
      models: { chat: { routes: [{ upstream: 'a' }, { upstream: 'b' }] } },
    }),
  });
  for (let i = 0; i < 5; i++) assert.equal((await send(gw.url, body())).status, 200);
  assert.equal(a.hits(), 1);
  assert.equal(mocks[0]!.stats().completed, 5);
});

test("a self-hosted engine's own queue, read from its /metrics, steers traffic away from it", async (t) => {
  const metrics = (waiting: number) => (_req: unknown, res: ServerResponse) => {
    res
      .writeHead(200, { 'content-type': 'text/plain' })
      .end(`vllm:num_requests_waiting{model_name="m"} ${waiting}\nvllm:kv_cache_usage_perc{model_name="m"} 0.3\n`);
  };
  const busyMetrics = await fixedUpstream(t, metrics(50), { metrics: true });
  const idleMetrics = await fixedUpstream(t, metrics(0), { metrics: true });
  const { gw, mocks, logs } = await startStack(t, {
    mocks: [{}, {}],
    config: (urls) => ({
      upstreams: [
        { name: 'busy', url: `${urls[0]}/v1`, engine_metrics: { url: `${busyMetrics.url}/metrics`, interval: '50ms' } },
        { name: 'idle', url: `${urls[1]}/v1`, engine_metrics: { url: `${idleMetrics.url}/metrics`, interval: '50ms' } },
      ],
      models: { chat: { routes: [{ upstream: 'busy' }, { upstream: 'idle' }] } },
    }),
  });
  // Bounded wait until each engine was read twice: the first reading has surely reached the balancer.
  for (let i = 0; i < 200 && (busyMetrics.hits() < 2 || idleMetrics.hits() < 2); i++)
    await new Promise((r) => setTimeout(r, 10));
  for (let i = 0; i < 20; i++) assert.equal((await send(gw.url, body())).status, 200);
  assert.equal(mocks[0]!.stats().completed, 0, 'the engine with 50 queued requests got none');
  assert.equal(mocks[1]!.stats().completed, 20);
  assert.ok(!logs.lines.some((l) => /cannot read engine metrics/.test(l)));
});

/**
 * A vLLM with two slots that queues the rest without a word, no max_concurrency, and `streams` streams of 0.5 s sent to
 * it at once through Spillway: each answer checked whole. Returns the upstream's learned limit after.
 */
async function floodTwoSlotEngine(t: TestContext, engineMetrics: unknown, streams: number): Promise<string> {
  const { client, gw } = await startStack(t, {
    mocks: [
      { kind: 'vllm', slots: 2, queueSize: 100, keepAliveMs: 0, queueTimeoutMs: 60_000, ttftMs: 50, tokenMs: 20 },
    ],
    config: (urls) => ({
      upstreams: [
        { name: 'engine', url: `${urls[0]}/v1`, ...(engineMetrics !== undefined && { engine_metrics: engineMetrics }) },
      ],
      models: { chat: { routes: [{ upstream: 'engine' }] } },
    }),
    gateway: { probeKinds: true },
  });
  await gw.kindsSettled();
  const answers = await Promise.all(
    Array.from({ length: streams }, async (_, i) => {
      const s = await client.chat.completions.create({
        model: 'chat',
        messages: [{ role: 'user', content: `w${i}` }],
        max_tokens: 25,
        stream: true,
      });
      let text = '';
      for await (const c of s) text += c.choices[0]?.delta.content ?? '';
      return text;
    }),
  );
  answers.forEach((a, i) => assert.equal(a, answerText(1, `w${i}`, 25)));
  const m = await (await fetch(`${gw.url}/metrics`)).text();
  return /spillway_upstream_concurrency_limit\{upstream="engine"\} (\d+)\n/.exec(m)?.[1] ?? 'none';
}

// Configured (read every 100 ms) and on defaults (`auto`: read every 2 s while requests go there, its kind probed).
for (const [how, engineMetrics, streams] of [
  ['configured', { interval: '100ms' }, 12],
  ['on defaults', undefined, 20],
] as const)
  test(`${how}, an engine's own queue, read from its /metrics, brings its learned limit down to what it runs`, async (t) => {
    // The streams sent at once reach the engine before its queue is read; once read, what waits there tells what it
    // runs of ours, and the limit holds there, so the next burst would wait in Spillway's queue (deadline order, the
    // door's honest refusals). On defaults the first read comes 2 s after requests start: 20 streams of 0.5 s on two
    // slots keep it queueing past that.
    assert.equal(await floodTwoSlotEngine(t, engineMetrics, streams), '2');
  });

test("an engine whose /metrics cannot be read: its streams' later first tokens bring its learned limit down to what it runs", async (t) => {
  // Its metrics off (SGLang without --enable-metrics, a proxy in front): the streams that waited in its queue tell,
  // by how long they waited with how many sent before them, what it runs of ours. An estimate, rounded up
  // (silent-queue.ts): what it runs, or one over; never the 256 it starts at.
  assert.match(await floodTwoSlotEngine(t, 'off', 20), /^[23]$/);
});

test("a silent engine with room for everything sent: its long prompts' later first tokens do not cut its learned limit", async (t) => {
  // 12 slots, 8 streams at a time: nothing waits, but two prompts of three are 3 000 tokens, 600 ms more to a first
  // token than a short one. Read against one prefill for all, those first tokens looked like waits in a queue and
  // brought the limit down to 2 or 3; read against their prompts' length, there is no queue to see (silent-queue.ts).
  const { client, gw } = await startStack(t, {
    mocks: [
      {
        kind: 'vllm',
        slots: 12,
        queueSize: 100,
        keepAliveMs: 0,
        queueTimeoutMs: 60_000,
        ttftMs: 30,
        ttftPer1kPromptTokensMs: 200,
        tokenMs: 10,
      },
    ],
    config: (urls) => ({
      upstreams: [{ name: 'engine', url: `${urls[0]}/v1`, engine_metrics: 'off' }],
      models: { chat: { routes: [{ upstream: 'engine' }] } },
    }),
    gateway: { probeKinds: true },
  });
  await gw.kindsSettled();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < 48; i = next++) {
      const content = `p${i} ${'x'.repeat(i % 3 === 0 ? 200 : 12_000)}`;
      const s = await client.chat.completions.create({
        model: 'chat',
        messages: [{ role: 'user', content }],
        max_tokens: 10,
        stream: true,
      });
      let text = '';
      for await (const c of s) text += c.choices[0]?.delta.content ?? '';
      assert.equal(text, answerText(1, content, 10));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const m = await (await fetch(`${gw.url}/metrics`)).text();
  const limit = Number(/spillway_upstream_concurrency_limit\{upstream="engine"\} (\d+)\n/.exec(m)?.[1]);
  assert.ok(limit >= 12, `learned limit ${limit}`);
});
