import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { FakeClock } from '../../src/clock.ts';
import { fixedUpstream, startStack } from '../helpers/stack.ts';
import { wordEmbedder } from '../helpers/word-embedder.ts';
import { until } from '../helpers/until.ts';

const ASK = { model: 'chat', messages: [{ role: 'user' as const, content: 'What is a spillway?' }], temperature: 0 };

function cachedConfig(extra: Record<string, unknown> = {}) {
  return (urls: string[]) => ({
    upstreams: urls.map((u, i) => ({ name: `mock${i}`, url: `${u}/v1` })),
    models: { chat: { routes: urls.map((_u, i) => ({ upstream: `mock${i}` })) } },
    cache: { models: ['chat'], ...extra },
  });
}

async function lookups(
  gw: {
    metrics: { cacheLookups: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> } };
  },
  result: string,
): Promise<number> {
  const m = await gw.metrics.cacheLookups.get();
  return m.values.filter((v) => v.labels.result === result).reduce((a, v) => a + v.value, 0);
}

function sse(res: ServerResponse, chunks: unknown[]): void {
  for (const c of chunks) res.write(`data: ${JSON.stringify(c)}\n\n`);
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'chat',
  choices: [{ index: 0, delta, finish_reason: finish }],
});

test('a repeated request is answered from the cache without reaching the upstream, marked hit', async (t) => {
  const s = await startStack(t, { config: cachedConfig() });
  const first = await s.client.chat.completions.create(ASK).withResponse();
  assert.equal(first.response.headers.get('x-spillway-cache'), 'miss');
  const again = await s.client.chat.completions.create(ASK).withResponse();
  assert.equal(again.response.headers.get('x-spillway-cache'), 'hit');
  assert.deepEqual(again.data, first.data);
  assert.equal(s.mocks[0]!.stats().received, 1);
});

test('a stored non-stream answer replays as a stream the openai SDK accepts, with usage when asked', async (t) => {
  const s = await startStack(t, { config: cachedConfig() });
  const plain = await s.client.chat.completions.create(ASK);
  const { data: stream, response } = await s.client.chat.completions
    .create({ ...ASK, stream: true, stream_options: { include_usage: true } })
    .withResponse();
  assert.equal(response.headers.get('x-spillway-cache'), 'hit');
  let text = '';
  let finish: string | null = null;
  let usage: unknown;
  for await (const c of stream) {
    text += c.choices[0]?.delta.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
    usage = c.usage ?? usage;
  }
  assert.equal(text, plain.choices[0]?.message.content);
  assert.equal(finish, plain.choices[0]?.finish_reason);
  assert.deepEqual(usage, plain.usage);
  assert.equal(s.mocks[0]!.stats().received, 1);
});

test('a streamed answer is stored whole and serves a later non-stream request', async (t) => {
  const s = await startStack(t, { config: cachedConfig() });
  let text = '';
  for await (const c of await s.client.chat.completions.create({ ...ASK, stream: true }))
    text += c.choices[0]?.delta.content ?? '';
  const { data, response } = await s.client.chat.completions.create(ASK).withResponse();
  assert.equal(response.headers.get('x-spillway-cache'), 'hit');
  assert.equal(data.choices[0]?.message.content, text);
  assert.equal(data.choices[0]?.finish_reason, 'stop');
  assert.equal(data.object, 'chat.completion');
  assert.equal(s.mocks[0]!.stats().received, 1);
});

test('100 identical concurrent streams reach the upstream once and every client gets the whole answer', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const parts = ['The ', 'answer ', 'is ', 'forty-two.'];
  const up = await fixedUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    sse(res, [chunk({ role: 'assistant', content: '' }), chunk({ content: parts[0] })]);
    void released.then(() => {
      sse(res, [...parts.slice(1).map((p) => chunk({ content: p })), chunk({}, 'stop')]);
      res.end('data: [DONE]\n\n');
    });
  });
  const s = await startStack(t, {
    config: () => ({
      upstreams: [{ name: 'u', url: up.url }],
      models: { chat: { routes: [{ upstream: 'u' }] } },
      cache: { models: ['chat'] },
    }),
  });
  const N = 100;
  const clients = Array.from({ length: N }, async () => {
    const { data, response } = await s.client.chat.completions.create({ ...ASK, stream: true }).withResponse();
    let text = '';
    let finish: string | null = null;
    for await (const c of data) {
      text += c.choices[0]?.delta.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    return { text, finish, label: response.headers.get('x-spillway-cache') };
  });
  await until(
    async () => (await lookups(s.gw, 'miss')) + (await lookups(s.gw, 'coalesced')) === N,
    'every request to join the flight',
  );
  release();
  const got = await Promise.all(clients);
  assert.equal(up.hits(), 1, 'one upstream call');
  for (const g of got) {
    assert.equal(g.text, parts.join(''));
    assert.equal(g.finish, 'stop');
  }
  assert.equal(got.filter((g) => g.label === 'miss').length, 1);
  assert.equal(got.filter((g) => g.label === 'coalesced').length, N - 1);
  const after = await s.client.chat.completions.create(ASK).withResponse();
  assert.equal(after.response.headers.get('x-spillway-cache'), 'hit', 'the shared answer was stored');
});

test('the first client leaving does not cancel the answer the others share', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const up = await fixedUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    sse(res, [chunk({ role: 'assistant', content: '' }), chunk({ content: 'one ' })]);
    void released.then(() => {
      sse(res, [chunk({ content: 'two' }), chunk({}, 'stop')]);
      res.end('data: [DONE]\n\n');
    });
  });
  const s = await startStack(t, {
    config: () => ({
      upstreams: [{ name: 'u', url: up.url }],
      models: { chat: { routes: [{ upstream: 'u' }] } },
      cache: { models: ['chat'] },
    }),
  });
  const leaving = new AbortController();
  const leader = await s.client.chat.completions.create({ ...ASK, stream: true }, { signal: leaving.signal });
  const it = leader[Symbol.asyncIterator]();
  await it.next();
  const others = Array.from({ length: 3 }, async () => {
    let text = '';
    for await (const c of await s.client.chat.completions.create({ ...ASK, stream: true }))
      text += c.choices[0]?.delta.content ?? '';
    return text;
  });
  await until(async () => (await lookups(s.gw, 'coalesced')) === 3, 'the followers to join');
  leaving.abort();
  await until(
    async () => (await s.gw.metrics.clientAborts.get()).values.reduce((a, v) => a + v.value, 0) === 1,
    'the leader to be gone',
  );
  release();
  assert.deepEqual(await Promise.all(others), ['one two', 'one two', 'one two']);
  assert.equal(up.hits(), 1);
});

test('when the shared upstream call fails, every client sharing it gets the same failure', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const up = await fixedUpstream(t, (_req, res) => {
    // A real failure: a "busy" answer would be pushback, absorbed and tried again while the deadline allows.
    void released.then(() =>
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"Internal error"}}'),
    );
  });
  const s = await startStack(t, {
    config: () => ({
      upstreams: [{ name: 'u', url: up.url }],
      models: { chat: { routes: [{ upstream: 'u' }] } },
      retry: { max_attempts: 1 },
      cache: { models: ['chat'] },
    }),
  });
  const calls = Array.from({ length: 5 }, () =>
    s.client.chat.completions.create(ASK).then(
      () => 'ok',
      (e: unknown) => e,
    ),
  );
  await until(async () => (await lookups(s.gw, 'coalesced')) === 4, 'the followers to join');
  release();
  for (const e of await Promise.all(calls)) {
    assert.ok(e instanceof OpenAI.APIError, String(e));
    assert.equal(e.status, 502);
    assert.equal(e.code, 'upstream_error');
  }
  assert.equal(up.hits(), 1);
});

test('cache-control no-cache skips the lookup and no-store keeps the answer out of the cache', async (t) => {
  const s = await startStack(t, { config: cachedConfig() });
  await s.client.chat.completions.create(ASK, { headers: { 'cache-control': 'no-store' } });
  const second = await s.client.chat.completions.create(ASK).withResponse();
  assert.equal(second.response.headers.get('x-spillway-cache'), 'miss', 'nothing was stored');
  const fresh = await s.client.chat.completions
    .create(ASK, { headers: { 'cache-control': 'no-cache' } })
    .withResponse();
  assert.equal(fresh.response.headers.get('x-spillway-cache'), 'miss', 'no lookup');
  assert.equal(s.mocks[0]!.stats().received, 3);
});

test('sampled requests (no temperature 0, no seed) are not cached unless cache.sampled says so', async (t) => {
  const s = await startStack(t, { config: cachedConfig() });
  const sampled = { model: 'chat', messages: ASK.messages };
  await s.client.chat.completions.create(sampled);
  const again = await s.client.chat.completions.create(sampled).withResponse();
  assert.equal(again.response.headers.get('x-spillway-cache'), null);
  const seeded = await s.client.chat.completions.create({ ...sampled, seed: 7 }).withResponse();
  assert.equal(seeded.response.headers.get('x-spillway-cache'), 'miss');
  const s2 = await startStack(t, { config: cachedConfig({ sampled: true }) });
  await s2.client.chat.completions.create(sampled);
  assert.equal(
    (await s2.client.chat.completions.create(sampled).withResponse()).response.headers.get('x-spillway-cache'),
    'hit',
  );
});

test('an expired entry is served stale when every upstream fails', async (t) => {
  const clock = new FakeClock(1_000_000);
  const s = await startStack(t, {
    config: cachedConfig({ ttl: '1m', stale_for: '1h', ttl_jitter_percent: 0 }),
    gateway: { cacheClock: clock },
  });
  const first = await s.client.chat.completions.create(ASK);
  clock.advance(2 * 60_000);
  await s.mocks[0]!.close();
  const { data, response } = await s.client.chat.completions.create(ASK).withResponse();
  assert.equal(response.headers.get('x-spillway-cache'), 'stale');
  assert.equal(data.choices[0]?.message.content, first.choices[0]?.message.content);
  clock.advance(2 * 60 * 60_000);
  // The first failing request's attempts (retry.max_attempts) took the upstream out of rotation (health.failure_threshold).
  await assert.rejects(
    s.client.chat.completions.create(ASK),
    (e: unknown) => e instanceof OpenAI.APIError && e.status === 503 && e.code === 'no_capacity',
    'past stale_for: the failure',
  );
});

test("tenants never see each other's answers unless they share a tenant group", async (t) => {
  const keys = [
    { key: 'key-tenant-a', tenant: 'a' },
    { key: 'key-tenant-b', tenant: 'b' },
    { key: 'key-tenant-c', tenant: 'c' },
    { key: 'key-tenant-d', tenant: 'd' },
  ];
  const s = await startStack(t, {
    config: (urls) => ({
      ...cachedConfig({ tenant_groups: { shared: ['c', 'd'] } })(urls),
      auth: { keys },
      tenants: { a: {}, b: {}, c: {}, d: {} },
    }),
  });
  const as = (key: string) => new OpenAI({ baseURL: `${s.gw.url}/v1`, apiKey: key, maxRetries: 0 });
  const label = async (key: string) =>
    (await as(key).chat.completions.create(ASK).withResponse()).response.headers.get('x-spillway-cache');
  assert.equal(await label('key-tenant-a'), 'miss');
  assert.equal(await label('key-tenant-b'), 'miss', "b does not get a's answer");
  assert.equal(await label('key-tenant-a'), 'hit');
  assert.equal(await label('key-tenant-c'), 'miss');
  assert.equal(await label('key-tenant-d'), 'hit', 'c and d share their group');
  assert.equal(s.mocks[0]!.stats().received, 3);
});

test("the admin purge removes one model's answers", async (t) => {
  const s = await startStack(t, { config: cachedConfig() });
  await s.client.chat.completions.create(ASK);
  const res = await fetch(`${s.gw.url}/admin/cache/purge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat' }),
  });
  assert.equal(res.status, 200);
  assert.deepEqual(((await res.json()) as { purged: unknown }).purged, { memory: 1, redis: 0 });
  assert.equal(
    (await s.client.chat.completions.create(ASK).withResponse()).response.headers.get('x-spillway-cache'),
    'miss',
  );
  const bad = await fetch(`${s.gw.url}/admin/cache/purge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 3 }),
  });
  assert.equal(bad.status, 400);
});

test('in degrade mode an expired entry is served stale without asking the upstream (even with max_tokens capped), and says so', async (t) => {
  const clock = new FakeClock(1_000_000);
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const answer = {
    id: 'c1',
    object: 'chat.completion',
    created: 1,
    model: 'chat',
    choices: [{ index: 0, message: { role: 'assistant', content: 'stored' }, finish_reason: 'stop' }],
  };
  const up = await fixedUpstream(t, (_req, res) => {
    const reply = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    if (up.hits() === 1) reply();
    else void released.then(reply);
  });
  const s = await startStack(t, {
    config: () => ({
      upstreams: [{ name: 'u', url: up.url, max_concurrency: 1 }],
      models: { chat: { routes: [{ upstream: 'u' }] } },
      // Degrade mode also caps max_tokens: the stale answer to the uncapped question must still be found.
      degrade: { queue_depth: 1, max_tokens: 5 },
      cache: { models: ['chat'], ttl: '1m', ttl_jitter_percent: 0, stale_for: '1h' },
    }),
    gateway: { cacheClock: clock },
  });
  await s.client.chat.completions.create(ASK);
  clock.advance(5 * 60_000);
  // One request holds the only upstream slot, a second waits for it: the queue is deep enough to degrade.
  const fresh = { headers: { 'cache-control': 'no-cache' } };
  const busy = [s.client.chat.completions.create(ASK, fresh), s.client.chat.completions.create(ASK, fresh)];
  await until(
    async () => (await s.gw.metrics.queueDepth.get()).values.reduce((a, v) => a + v.value, 0) >= 1,
    'a request to wait in the queue',
  );
  const { data, response } = await s.client.chat.completions.create(ASK).withResponse();
  assert.equal(response.headers.get('x-spillway-cache'), 'stale');
  assert.equal(response.headers.get('x-spillway-degraded'), 'stale_cache');
  assert.equal(data.choices[0]?.message.content, 'stored');
  const actions = (await s.gw.metrics.degradeActions.get()).values.find((v) => v.labels.action === 'stale_cache');
  assert.equal(actions?.value, 1);
  assert.equal(up.hits(), 2, 'the stale answer did not reach the upstream');
  release();
  await Promise.all(busy);
});

test('the semantic cache answers a similar question from a stored answer, and only above the threshold', async (t) => {
  const embedder = await wordEmbedder(t);
  const s = await startStack(t, {
    config: (urls) => ({
      upstreams: [
        { name: 'mock0', url: `${urls[0]}/v1` },
        { name: 'emb', url: embedder.url },
      ],
      models: { chat: { routes: [{ upstream: 'mock0' }] } },
      cache: { models: ['chat'], semantic: { upstream: 'emb', model: 'text-embedding-test', threshold: 0.99 } },
    }),
  });
  const ask = (content: string) =>
    s.client.chat.completions.create({ ...ASK, messages: [{ role: 'user', content }] }).withResponse();
  const first = await ask('What is a spillway?');
  assert.equal(first.response.headers.get('x-spillway-cache'), 'miss');
  await until(
    async () =>
      ((await s.gw.metrics.cacheStores.get()).values.find((v) => v.labels.result === 'stored')?.value ?? 0) === 1,
    'the answer and its vector to be stored',
  );
  const similar = await ask('what IS a   spillway');
  assert.equal(similar.response.headers.get('x-spillway-cache'), 'hit');
  assert.equal(similar.response.headers.get('x-spillway-cache-similarity'), '1.0000');
  assert.deepEqual(similar.data, first.data);
  const other = await ask('How do dams hold water back?');
  assert.equal(other.response.headers.get('x-spillway-cache'), 'miss');
  const differentParams = await s.client.chat.completions
    .create({ ...ASK, max_tokens: 3, messages: [{ role: 'user', content: 'what is a spillway' }] })
    .withResponse();
  assert.equal(differentParams.response.headers.get('x-spillway-cache'), 'miss', 'other max_tokens: another partition');
  assert.equal(s.mocks[0]!.stats().received, 3);
  assert.equal(embedder.hits(), 4);
});

test('a stored answer with reasoning and tool calls replays as a stream the SDK assembles into the same message', async (t) => {
  const message = {
    role: 'assistant',
    content: null,
    reasoning_content: 'The user wants the weather: call the tool.',
    tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
  };
  const answer = {
    id: 'c9',
    object: 'chat.completion',
    created: 5,
    model: 'chat',
    choices: [{ index: 0, message, logprobs: null, finish_reason: 'tool_calls' }],
    usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 },
  };
  const up = await fixedUpstream(t, (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)),
  );
  const s = await startStack(t, {
    config: () => ({
      upstreams: [{ name: 'u', url: up.url }],
      models: { chat: { routes: [{ upstream: 'u' }] } },
      cache: { models: ['chat'] },
    }),
  });
  await s.client.chat.completions.create(ASK);
  const stream = s.client.chat.completions.stream({ ...ASK, stream: true });
  const final = await stream.finalChatCompletion();
  const got = final.choices[0]?.message as unknown as Record<string, unknown>;
  assert.deepEqual(got.tool_calls, message.tool_calls);
  assert.equal(got.reasoning_content, message.reasoning_content);
  assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
  assert.equal(up.hits(), 1);
});

test('identical requests of two tenants in flight together are not coalesced: each tenant gets its own upstream call', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const up = await fixedUpstream(t, (_req, res, body) => {
    const who = (JSON.parse(body) as { user?: string }).user ?? '?';
    const answer = {
      id: `c-${who}`,
      object: 'chat.completion',
      created: 1,
      model: 'chat',
      choices: [{ index: 0, message: { role: 'assistant', content: `for ${who}` }, finish_reason: 'stop' }],
    };
    void released.then(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)));
  });
  const keys = [
    { key: 'key-tenant-a', tenant: 'a' },
    { key: 'key-tenant-b', tenant: 'b' },
  ];
  const s = await startStack(t, {
    config: () => ({
      upstreams: [{ name: 'u', url: up.url }],
      models: { chat: { routes: [{ upstream: 'u' }] } },
      auth: { keys },
      tenants: { a: {}, b: {} },
      cache: { models: ['chat'] },
    }),
  });
  const as = (key: string, user: string) =>
    new OpenAI({ baseURL: `${s.gw.url}/v1`, apiKey: key, maxRetries: 0 }).chat.completions.create({ ...ASK, user });
  const calls = [as('key-tenant-a', 'a1'), as('key-tenant-a', 'a2'), as('key-tenant-b', 'b1')];
  await until(
    async () => (await lookups(s.gw, 'miss')) + (await lookups(s.gw, 'coalesced')) === 3,
    'all three to reach the cache',
  );
  release();
  const [a1, a2, b1] = await Promise.all(calls);
  assert.equal(up.hits(), 2, 'one call per tenant');
  assert.equal(
    a2?.choices[0]?.message.content,
    a1?.choices[0]?.message.content,
    'the two requests of tenant a shared one answer',
  );
  assert.equal(b1?.choices[0]?.message.content, 'for b1', 'tenant b got its own');
});

test('a non-stream request joining a stream in flight gets the assembled answer; a stream asking for usage does not join one without', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const up = await fixedUpstream(t, (_req, res, body) => {
    const withUsage =
      (JSON.parse(body) as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage === true;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    sse(res, [chunk({ role: 'assistant', content: '' }), chunk({ content: 'shared ' })]);
    void released.then(() => {
      sse(res, [chunk({ content: 'answer' }), chunk({}, 'stop')]);
      if (withUsage)
        sse(res, [{ ...chunk({}), choices: [], usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 } }]);
      res.end('data: [DONE]\n\n');
    });
  });
  const s = await startStack(t, {
    config: () => ({
      upstreams: [{ name: 'u', url: up.url }],
      models: { chat: { routes: [{ upstream: 'u' }] } },
      cache: { models: ['chat'] },
    }),
  });
  const leader = (async () => {
    let text = '';
    for await (const c of await s.client.chat.completions.create({ ...ASK, stream: true }))
      text += c.choices[0]?.delta.content ?? '';
    return text;
  })();
  await until(async () => (await lookups(s.gw, 'miss')) === 1, 'the leader');
  const plain = s.client.chat.completions.create(ASK).withResponse();
  const usageStream = (async () => {
    let usage: unknown;
    for await (const c of await s.client.chat.completions.create({
      ...ASK,
      stream: true,
      stream_options: { include_usage: true },
    }))
      usage = c.usage ?? usage;
    return usage;
  })();
  await until(
    async () => (await lookups(s.gw, 'coalesced')) === 1 && (await lookups(s.gw, 'miss')) === 2,
    'the follower to join and the usage stream to start its own call',
  );
  release();
  assert.equal(await leader, 'shared answer');
  const { data, response } = await plain;
  assert.equal(response.headers.get('x-spillway-cache'), 'coalesced');
  assert.equal(data.choices[0]?.message.content, 'shared answer');
  assert.equal(data.object, 'chat.completion');
  assert.deepEqual(await usageStream, { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 });
  assert.equal(up.hits(), 2);
});

test('when every client sharing an upstream call has left, the upstream request is cancelled', async (t) => {
  let upstreamGone!: () => void;
  const cancelled = new Promise<void>((r) => (upstreamGone = r));
  const up = await fixedUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    sse(res, [chunk({ role: 'assistant', content: '' }), chunk({ content: 'never finished' })]);
    res.on('close', () => upstreamGone());
  });
  const s = await startStack(t, {
    config: () => ({
      upstreams: [{ name: 'u', url: up.url }],
      models: { chat: { routes: [{ upstream: 'u' }] } },
      cache: { models: ['chat'] },
    }),
  });
  const leaving = [new AbortController(), new AbortController()];
  const streams = await Promise.all(
    leaving.map((c) => s.client.chat.completions.create({ ...ASK, stream: true }, { signal: c.signal })),
  );
  for (const st of streams) await st[Symbol.asyncIterator]().next();
  assert.equal(await lookups(s.gw, 'coalesced'), 1);
  leaving[0]!.abort();
  leaving[1]!.abort();
  await cancelled;
  assert.equal(up.hits(), 1);
  await until(() => s.gw.cache?.flights.size === 0, 'the flight to land');
});
