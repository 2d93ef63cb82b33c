import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startStack } from '../helpers/stack.ts';

const body = (i: number) =>
  JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: `q${i}` }], max_tokens: 8 });

async function send(url: string, i: number) {
  // As the official SDKs send it: a 30 s timeout, in seconds.
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-stainless-timeout': '30' },
    body: body(i),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

test('with no max_concurrency configured, upstream "busy" answers are absorbed: every client is served and the caps are learned', async (t) => {
  const { gw, mocks } = await startStack(t, {
    mocks: [
      { slots: 4, queueSize: 0, reject: 429, ttftMs: 80, tokenMs: 5 }, // DeepSeek-style: 429 at its concurrency limit
      { slots: 3, queueSize: 0, reject: 503, ttftMs: 80, tokenMs: 5 }, // a self-hosted server: 503 when full
    ],
    config: (urls) => ({
      upstreams: urls.map((u, i) => ({ name: `u${i}`, url: `${u}/v1` })),
      models: { chat: { routes: [{ upstream: 'u0' }, { upstream: 'u1' }] } },
    }),
  });
  const results = await Promise.all(Array.from({ length: 80 }, (_v, i) => send(gw.url, i)));
  assert.deepEqual(
    results.filter((r) => r.status !== 200).map((r) => r.text),
    [],
    'no client heard an upstream "busy"',
  );
  const [a, b] = mocks.map((m) => m.stats());
  assert.ok((a?.peakInFlight ?? 0) >= 4 && (b?.peakInFlight ?? 0) >= 3, 'both upstreams were used to their real caps');
  const m = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(m, /spillway_pushbacks_total\{upstream="u0"\} [1-9]/);
  assert.match(m, /spillway_pushbacks_total\{upstream="u1"\} [1-9]/);
  assert.doesNotMatch(m, /spillway_retries_total\{[^}]*outcome="(rate_limited|overloaded)"/, 'pushback is not a retry');
  // The learned caps came down to what the upstreams take (429 teaches the account, 503 the upstream).
  const ups = gw.runtime.balancer.snapshot();
  assert.ok((ups[0]?.accounts[0]?.cap ?? 0) <= 6, JSON.stringify(ups[0]?.accounts));
  assert.ok((ups[1]?.cap ?? 0) <= 5, String(ups[1]?.cap));
});
