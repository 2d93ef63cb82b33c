import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startStack } from '../helpers/stack.ts';

const K1 = 'sk-account-one-0001';
const K2 = 'sk-account-two-0002';
const body = (i: number) =>
  JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: `q${i}` }], max_tokens: 4 });

async function send(url: string, i: number) {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body(i),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

test("requests spread over an upstream's keys and never exceed each key's cap", async (t) => {
  const { gw, mocks } = await startStack(t, {
    mocks: [{ apiKeys: [K1, K2], ttftMs: 30, tokenMs: 2 }],
    config: (urls) => ({
      upstreams: [
        {
          name: 'ds',
          url: `${urls[0]}/v1`,
          keys: [
            { key: K1, name: 'one', max_concurrency: 3 },
            { key: K2, name: 'two', max_concurrency: 5 },
          ],
        },
      ],
      models: { chat: { routes: [{ upstream: 'ds' }] } },
    }),
  });
  const results = await Promise.all(Array.from({ length: 60 }, (_v, i) => send(gw.url, i)));
  const peak = mocks[0]!.stats().peakPerKey;
  const byLabel = Object.entries(peak);
  assert.equal(byLabel.length, 2, 'both keys were used');
  assert.ok((peak['…0001'] ?? 0) <= 3, JSON.stringify(peak));
  assert.ok((peak['…0002'] ?? 0) <= 5, JSON.stringify(peak));
  assert.ok(results.filter((r) => r.status === 200).length >= 8);
  for (const r of results.filter((x) => x.status !== 200)) assert.match(r.text, /no_capacity/);
});

test('a refused key is disabled with a loud log line and the other key serves', async (t) => {
  const { gw, mocks, logs } = await startStack(t, {
    mocks: [{ apiKeys: [K2] }],
    config: (urls) => ({
      upstreams: [
        {
          name: 'ds',
          url: `${urls[0]}/v1`,
          keys: [
            { key: K1, name: 'revoked' },
            { key: K2, name: 'good' },
          ],
        },
      ],
      models: { chat: { routes: [{ upstream: 'ds' }] } },
    }),
  });
  for (let i = 0; i < 6; i++) assert.equal((await send(gw.url, i)).status, 200);
  assert.equal(mocks[0]!.stats().rejected.unauthorized ?? 0, 1, 'the revoked key was tried once, then left alone');
  const line = logs.records().find((l) => /refused this API key/.test(String(l.msg)));
  assert.equal(line?.account, 'revoked');
  assert.equal(line?.level, 50);
  assert.ok(!logs.lines.join('\n').includes(K1), 'the key itself is never logged');
});

test('a 429 rests one key while the other keeps serving', async (t) => {
  const { gw, mocks } = await startStack(t, {
    mocks: [{ apiKeys: [K1, K2], perKeyConcurrency: 1, ttftMs: 200 }],
    config: (urls) => ({
      // The gateway believes each key can take 4 at once; the upstream allows 1: the 429s teach it otherwise.
      upstreams: [
        {
          name: 'ds',
          url: `${urls[0]}/v1`,
          keys: [
            { key: K1, name: 'one', max_concurrency: 4 },
            { key: K2, name: 'two', max_concurrency: 4 },
          ],
        },
      ],
      models: { chat: { routes: [{ upstream: 'ds' }] } },
      retry: { cooldown_default: '30s' },
    }),
  });
  const results = await Promise.all(Array.from({ length: 4 }, (_v, i) => send(gw.url, i)));
  assert.ok(results.some((r) => r.status === 200));
  const m = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(m, /spillway_account_cooldowns_total\{upstream="ds",account="(one|two)"\} [1-9]/);
  assert.ok((mocks[0]!.stats().rejected.key_concurrency ?? 0) >= 1);
});
