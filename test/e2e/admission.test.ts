import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startStack } from '../helpers/stack.ts';

const messages = [{ role: 'user' as const, content: 'hi' }];

async function send(
  url: string,
  key: string,
  headers: Record<string, string> = {},
  extra: Record<string, unknown> = {},
) {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify({ model: 'chat', messages, max_tokens: 4, ...extra }),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

test('a key over its requests per minute gets 429 at once, with an exact Retry-After and x-ratelimit headers', async (t) => {
  const { gw, mocks } = await startStack(t, {
    config: (urls) => ({
      auth: { keys: [{ key: 'key-limited-0001', tenant: 'a', requests_per_minute: 3 }] },
      tenants: { a: {} },
      upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
      models: { chat: { routes: [{ upstream: 'm' }] } },
    }),
  });
  const ok = [];
  for (let i = 0; i < 3; i++) ok.push(await send(gw.url, 'key-limited-0001'));
  assert.deepEqual(
    ok.map((r) => r.status),
    [200, 200, 200],
  );
  assert.equal(ok[0]?.headers['x-ratelimit-limit-requests'], '3');
  assert.equal(ok[0]?.headers['x-ratelimit-remaining-requests'], '2');
  assert.equal(ok[2]?.headers['x-ratelimit-remaining-requests'], '0');
  const refused = await send(gw.url, 'key-limited-0001');
  assert.equal(refused.status, 429);
  assert.match(refused.text, /"code":"rate_limited"/);
  assert.equal(refused.headers['retry-after'], '20', 'one request per 20 s at 3 per minute');
  assert.equal(mocks[0]!.stats().received, 3, 'the refused request never reached the upstream');
});

test('tokens per minute count the estimate at the door and the real usage afterwards', async (t) => {
  const { gw } = await startStack(t, {
    config: (urls) => ({
      auth: { keys: [{ key: 'key-tokens-0001', tenant: 't' }] },
      tenants: { t: { tokens_per_minute: 100 } },
      upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
      models: { chat: { routes: [{ upstream: 'm' }] } },
    }),
  });
  const first = await send(gw.url, 'key-tokens-0001', {}, { max_tokens: 60 });
  assert.equal(first.status, 200);
  assert.equal(first.headers['x-ratelimit-limit-tokens'], '100');
  // The estimate was 61 (prompt 1 + 60); the mock used ~61 too; a second request of 60 no longer fits.
  const second = await send(gw.url, 'key-tokens-0001', {}, { max_tokens: 60 });
  assert.equal(second.status, 429);
  assert.match(second.text, /tenant 't': 100 tokens per minute/);
});

test("a tenant's priority is capped: asking for high gives its max", async (t) => {
  const { gw, mocks } = await startStack(t, {
    mocks: [{ ttftMs: 2000 }],
    config: (urls) => ({
      auth: {
        keys: [
          { key: 'key-batch-00001', tenant: 'batch' },
          { key: 'key-live-000001', tenant: 'live' },
        ],
      },
      tenants: { batch: { priority: 'low', max_priority: 'low' }, live: { priority: 'high' } },
      upstreams: [{ name: 'm', url: `${urls[0]}/v1`, max_concurrency: 1 }],
      models: { chat: { routes: [{ upstream: 'm' }] } },
    }),
  });
  // One slot: the first request holds it; then a batch request asking for high and a live request queue.
  const first = send(gw.url, 'key-live-000001');
  await new Promise((r) => mocks[0]!.events.once('request', r));
  const order: string[] = [];
  const batch = send(gw.url, 'key-batch-00001', { 'x-spillway-priority': 'high' }).then(
    (r) => order.push('batch') && r,
  );
  await new Promise((r) => setImmediate(r));
  const live = send(gw.url, 'key-live-000001').then((r) => order.push('live') && r);
  await Promise.all([first, batch, live]);
  assert.deepEqual(order, ['live', 'batch'], 'the live tenant went first although batch asked for high and came first');
  const m = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(m, /spillway_queue_wait_seconds_count\{priority="low"\} 1/);
});

test('degrade mode sends low priority to the cheaper model and caps max_tokens while the queue is deep', async (t) => {
  const { gw, mocks } = await startStack(t, {
    mocks: [{ ttftMs: 1500 }, {}],
    config: (urls) => ({
      upstreams: [
        { name: 'big', url: `${urls[0]}/v1`, max_concurrency: 1 },
        { name: 'lite', url: `${urls[1]}/v1` },
      ],
      models: {
        chat: { routes: [{ upstream: 'big' }], degrade_to: 'chat-lite' },
        'chat-lite': { routes: [{ upstream: 'lite' }] },
      },
      degrade: { queue_depth: 1, max_tokens: 3 },
    }),
  });
  const plain = (priority: string, max: number) =>
    request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-spillway-priority': priority },
      body: JSON.stringify({ model: 'chat', messages, max_tokens: max }),
    });
  const holding = plain('normal', 4);
  await new Promise((r) => mocks[0]!.events.once('request', r));
  const waiting = plain('normal', 4);
  // Bounded wait until the gateway's queue holds the second request: degrade mode is then on for the next one.
  let depth = 0;
  for (let i = 0; i < 200 && depth < 1; i++) {
    depth = (await gw.metrics.queueDepth.get()).values.reduce((s, v) => s + v.value, 0);
    if (depth < 1) await new Promise((r) => setTimeout(r, 5));
  }
  const low = await plain('low', 50);
  const body = JSON.parse(await low.body.text()) as { model: string; usage: { completion_tokens: number } };
  assert.equal(low.statusCode, 200);
  assert.equal(low.headers['x-spillway-degraded'], 'cheaper_model, max_tokens_capped');
  assert.equal(body.model, 'chat-lite');
  assert.equal(body.usage.completion_tokens, 3);
  assert.equal(mocks[1]!.stats().completed, 1);
  await Promise.all([holding, waiting].map(async (p) => (await p).body.text()));
});

test('a client cannot raise itself to high unless its tenant is given it: the default cap is normal', async (t) => {
  const { gw } = await startStack(t, {
    config: (urls) => ({
      auth: {
        keys: [
          { key: 'key-plain-000001', tenant: 'plain' },
          { key: 'key-vip-00000001', tenant: 'vip' },
        ],
      },
      tenants: { plain: {}, vip: { max_priority: 'high' } },
      upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
      models: { chat: { routes: [{ upstream: 'm' }] } },
    }),
  });
  for (const key of ['key-plain-000001', 'key-vip-00000001']) {
    const r = await send(gw.url, key, { 'x-spillway-priority': 'high' });
    assert.equal(r.status, 200);
  }
  const log = (await (await fetch(`${gw.url}/admin/requests`)).json()) as {
    requests: { tenant: string; priority: string }[];
  };
  const byTenant = Object.fromEntries(log.requests.map((r) => [r.tenant, r.priority]));
  assert.deepEqual(byTenant, { plain: 'normal', vip: 'high' });
});
