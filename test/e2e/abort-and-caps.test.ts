import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { nextEvent, startStack } from '../helpers/stack.ts';

const messages = [{ role: 'user' as const, content: 'hi' }];

test('a client that disconnects aborts the upstream request at once', async (t) => {
  const { client, mocks } = await startStack(t, { mocks: [{ tokenMs: 20 }] });
  const mock = mocks[0]!;
  const aborted = nextEvent(mock.events, 'aborted');
  const controller = new AbortController();
  const stream = await client.chat.completions.create(
    { model: 'chat', messages, max_tokens: 1000, stream: true },
    { signal: controller.signal },
  );
  let n = 0;
  try {
    for await (const _ of stream) if (++n === 3) controller.abort();
  } catch {
    // The SDK may end the iteration quietly or raise its abort error; either way the client is gone.
  }
  assert.equal(n, 3);
  await aborted;
  assert.equal(mock.stats().aborted, 1);
  assert.equal(mock.stats().completed, 0);
});

test('a non-stream client that disconnects aborts the upstream request too', async (t) => {
  const { client, mocks } = await startStack(t, { mocks: [{ ttftMs: 5_000 }] });
  const mock = mocks[0]!;
  const received = nextEvent(mock.events, 'request');
  const aborted = nextEvent(mock.events, 'aborted');
  const controller = new AbortController();
  const pending = client.chat.completions.create({ model: 'chat', messages }, { signal: controller.signal });
  await received;
  controller.abort();
  await assert.rejects(pending);
  await aborted;
  assert.equal(mock.stats().aborted, 1);
});

test('max_concurrency is never exceeded under 200 concurrent requests against two capped upstreams', async (t) => {
  const { gw, mocks } = await startStack(t, {
    mocks: [
      { ttftMs: 30, tokenMs: 2 },
      { ttftMs: 30, tokenMs: 2 },
    ],
    config: (urls) => ({
      upstreams: [
        { name: 'a', url: `${urls[0]}/v1`, max_concurrency: 8 },
        { name: 'b', url: `${urls[1]}/v1`, max_concurrency: 5, weight: 2 },
      ],
      models: { chat: { routes: [{ upstream: 'a' }, { upstream: 'b' }] } },
    }),
  });
  const results = await Promise.all(
    Array.from({ length: 200 }, async (_v, i) => {
      const res = await request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'chat',
          messages: [{ role: 'user', content: `q${i}` }],
          max_tokens: 8,
          stream: i % 2 === 0,
        }),
      });
      const text = await res.body.text();
      return { status: res.statusCode, retryAfter: res.headers['retry-after'], text };
    }),
  );
  assert.ok(mocks[0]!.stats().peakInFlight <= 8, `a peaked at ${mocks[0]!.stats().peakInFlight}`);
  assert.ok(mocks[1]!.stats().peakInFlight <= 5, `b peaked at ${mocks[1]!.stats().peakInFlight}`);
  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status === 503);
  assert.equal(ok.length + refused.length, 200, 'every request either succeeded or was refused at once');
  assert.ok(ok.length >= 13, `at least the capacity was used (${ok.length} ok)`);
  for (const r of refused) {
    assert.match(r.text, /"code":"no_capacity"/);
    assert.ok(Number(r.retryAfter) >= 1);
  }
  assert.equal(mocks[0]!.stats().completed + mocks[1]!.stats().completed, ok.length);
});

test('a failing upstream is taken out of rotation and traffic goes to the healthy one', async (t) => {
  const { gw, mocks } = await startStack(t, {
    mocks: [{}, {}],
    config: (urls) => ({
      upstreams: [
        { name: 'down', url: 'http://127.0.0.1:9/v1' },
        { name: 'up', url: `${urls[1]}/v1` },
      ],
      models: { chat: { routes: [{ upstream: 'down' }, { upstream: 'up' }] } },
      health: { failure_threshold: 2, ejection_base: '1m' },
    }),
  });
  const statuses: number[] = [];
  for (let i = 0; i < 30; i++) {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages, max_tokens: 2 }),
    });
    await res.body.text();
    statuses.push(res.statusCode);
  }
  assert.ok(
    statuses.filter((s) => s === 502).length <= 2,
    `at most threshold failures before ejection: ${statuses.join(',')}`,
  );
  assert.ok(mocks[1]!.stats().completed >= 28);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /spillway_upstream_healthy\{upstream="down"\} 0/);
  assert.match(metrics, /spillway_upstream_ejections_total\{upstream="down"\} 1/);
});

test('when every upstream is out of rotation the answer is an immediate 503 with Retry-After', async (t) => {
  const { gw } = await startStack(t, {
    config: () => ({
      upstreams: [{ name: 'down', url: 'http://127.0.0.1:9/v1' }],
      models: { chat: { routes: [{ upstream: 'down' }] } },
      health: { failure_threshold: 1, ejection_base: '20s' },
    }),
  });
  const send = async () => {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      // A deadline shorter than the ejection: without one (10 min by default) the first request's retries wait out
      // each ejection of its only upstream, 80 s in all, before its 502.
      headers: { 'content-type': 'application/json', 'x-stainless-timeout': '5' },
      body: JSON.stringify({ model: 'chat', messages }),
    });
    return { status: res.statusCode, retryAfter: res.headers['retry-after'], text: await res.body.text() };
  };
  assert.equal((await send()).status, 502);
  const r = await send();
  assert.equal(r.status, 503);
  assert.match(r.text, /"code":"no_capacity"/);
  assert.ok(Number(r.retryAfter) >= 19 && Number(r.retryAfter) <= 20, `retry-after ${String(r.retryAfter)}`);
});
