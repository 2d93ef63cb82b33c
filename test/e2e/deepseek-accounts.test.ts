import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startStack } from '../helpers/stack.ts';

const K1 = 'sk-account-one-0001';
const K2 = 'sk-account-two-0002';
const body = (i: number) =>
  JSON.stringify({ model: 'deepseek-v4-flash', messages: [{ role: 'user', content: `q${i}` }], max_tokens: 4 });

async function send(url: string, i: number) {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body(i),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

test("the concurrency limit a DeepSeek 429 names becomes the key's cap, and every request is still served", async (t) => {
  const { gw, mocks, logs } = await startStack(t, {
    // No max_concurrency: the gateway does not know the account's limit; DeepSeek tells it only in the 429 body.
    mocks: [
      {
        kind: 'deepseek',
        apiKeys: [K1],
        perKeyConcurrency: 5,
        statesConcurrencyLimit: true,
        ttftMs: 50,
        retryAfterS: 0,
      },
    ],
    config: (urls) => ({
      upstreams: [{ name: 'ds', url: urls[0]!, kind: 'deepseek', keys: [{ key: K1, name: 'one' }] }],
      models: { 'deepseek-v4-flash': { routes: [{ upstream: 'ds' }] } },
    }),
  });
  const results = await Promise.all(Array.from({ length: 30 }, (_v, i) => send(gw.url, i)));
  assert.deepEqual(
    results.filter((r) => r.status !== 200),
    [],
    'refusals were pushback: every request waited and was served',
  );
  const account = gw.runtime.balancer.snapshot()[0]?.accounts[0];
  assert.equal(account?.cap, 5, 'the stated limit is the cap');
  assert.ok((mocks[0]!.stats().rejected.key_concurrency ?? 0) > 0, 'the limit was refused at least once');
  const line = logs.records().find((l) => /stated this account's concurrency limit/.test(String(l.msg)));
  assert.equal(line?.stated, 5);
  assert.equal(line?.account, 'one');
});

test('a key out of balance (402) is disabled with an error line and a metric; the other key serves and the client never sees 402', async (t) => {
  const { gw, mocks, logs } = await startStack(t, {
    mocks: [{ kind: 'deepseek', apiKeys: [K1, K2], unpaidKeys: [K1] }],
    config: (urls) => ({
      upstreams: [
        {
          name: 'ds',
          url: urls[0]!,
          kind: 'deepseek',
          keys: [
            { key: K1, name: 'unpaid' },
            { key: K2, name: 'paid' },
          ],
        },
      ],
      models: { 'deepseek-v4-flash': { routes: [{ upstream: 'ds' }] } },
    }),
  });
  for (let i = 0; i < 6; i++) assert.equal((await send(gw.url, i)).status, 200);
  assert.equal(mocks[0]!.stats().rejected.insufficient_balance, 1, 'the unpaid key was tried once, then left alone');
  const line = logs.records().find((l) => /insufficient balance/.test(String(l.msg)));
  assert.equal(line?.account, 'unpaid');
  assert.equal(line?.level, 50);
  assert.ok(!logs.lines.join('\n').includes(K1), 'the key itself is never logged');
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(
    metrics,
    /spillway_account_disabled_total\{upstream="ds",account="unpaid",reason="insufficient_balance"\} 1/,
  );
  assert.match(metrics, /spillway_upstream_attempts_total\{upstream="ds",outcome="insufficient_balance"\} 1/);
});

test("with no key left that can pay, the client hears a 502 naming the balance, not the upstream's 402", async (t) => {
  const { gw } = await startStack(t, {
    mocks: [{ kind: 'deepseek', apiKeys: [K1], unpaidKeys: [K1] }],
    config: (urls) => ({
      upstreams: [{ name: 'ds', url: urls[0]!, kind: 'deepseek', keys: [{ key: K1, name: 'unpaid' }] }],
      models: { 'deepseek-v4-flash': { routes: [{ upstream: 'ds' }] } },
    }),
  });
  const r = await send(gw.url, 0);
  assert.equal(r.status, 502);
  assert.equal((JSON.parse(r.text) as { error: { code: string } }).error.code, 'upstream_insufficient_balance');
  assert.ok(!r.text.includes(K1));
});
