import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import OpenAI from 'openai';
import { redisSkipReason, startRedisServer } from '../helpers/redis-server.ts';
import { mockFor } from '../helpers/mock.ts';
import { wordEmbedder } from '../helpers/word-embedder.ts';
import { until } from '../helpers/until.ts';
import { resolveConfig } from '../../src/config/load.ts';
import { startGateway, type Gateway } from '../../src/lifecycle/start-gateway.ts';
import { createLogger } from '../../src/observe/log.ts';

const ASK = {
  model: 'chat',
  messages: [{ role: 'user' as const, content: 'Shared across instances?' }],
  temperature: 0,
};

async function instances(
  t: TestContext,
  n: number,
  redisUrl: string,
  mockUrl: string,
  embedderUrl?: string,
): Promise<Gateway[]> {
  const semantic = embedderUrl === undefined ? {} : { semantic: { upstream: 'emb', model: 'words', threshold: 0.99 } };
  const config = resolveConfig(
    {
      log: { level: 'silent' },
      upstreams: [
        { name: 'm', url: `${mockUrl}/v1` },
        ...(embedderUrl === undefined ? [] : [{ name: 'emb', url: embedderUrl }]),
      ],
      models: { chat: { routes: [{ upstream: 'm' }] } },
      cache: {
        models: ['chat'],
        ...semantic,
        redis: { url: redisUrl, prefix: `t${process.pid}*[x]?-${Math.random().toString(36).slice(2)}:` },
      }, // glob characters must not break a purge
    },
    'cache redis test',
    {},
  );
  const gws: Gateway[] = [];
  for (let i = 0; i < n; i++) gws.push(await startGateway(config, { port: 0, log: createLogger('silent') }));
  t.after(() => Promise.all(gws.map((g) => g.shutdown(0))));
  for (const g of gws) await g.cache?.store.ready();
  return gws;
}

const client = (gw: Gateway) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
const label = async (gw: Gateway, body: Parameters<OpenAI['chat']['completions']['create']>[0] = ASK) =>
  (await client(gw).chat.completions.create(body).withResponse()).response.headers.get('x-spillway-cache');

test('two instances share answers through the Redis level (L2)', { skip: redisSkipReason() }, async (t) => {
  const redis = await startRedisServer(t);
  const mock = await mockFor(t);
  const [a, b] = (await instances(t, 2, redis.url, mock.url)) as [Gateway, Gateway];
  assert.equal(await label(a), 'miss');
  const fromB = await client(b)
    .chat.completions.create({ ...ASK, stream: true })
    .withResponse();
  assert.equal(fromB.response.headers.get('x-spillway-cache'), 'hit', 'b answers from what a stored');
  let text = '';
  for await (const c of fromB.data) text += c.choices[0]?.delta.content ?? '';
  assert.ok(text.length > 0);
  assert.equal(mock.stats().received, 1);
  const m = await b.metrics.cacheLookups.get();
  assert.equal(m.values.find((v) => v.labels.result === 'hit')?.labels.level, 'l2');
});

test(
  "a purge on one instance removes the answer from Redis and from every instance's memory",
  { skip: redisSkipReason() },
  async (t) => {
    const redis = await startRedisServer(t);
    const mock = await mockFor(t);
    const [a, b] = (await instances(t, 2, redis.url, mock.url)) as [Gateway, Gateway];
    await label(a);
    assert.equal(await label(b), 'hit');
    assert.ok((b.cache?.store.bytes ?? 0) > 0, 'b holds it in memory too');
    const res = await fetch(`${a.url}/admin/cache/purge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const body = (await res.json()) as { purged: { memory: number; redis: number } };
    assert.deepEqual(body.purged, { memory: 1, redis: 1 });
    await until(() => b.cache?.store.bytes === 0, 'b to hear the purge');
    assert.equal(await label(b), 'miss');
  },
);

test(
  'with Redis gone the cache still answers from memory and requests never fail for it',
  { skip: redisSkipReason() },
  async (t) => {
    const redis = await startRedisServer(t);
    const mock = await mockFor(t);
    const [a] = (await instances(t, 1, redis.url, mock.url)) as [Gateway];
    await redis.stop();
    assert.equal(await label(a, { ...ASK, seed: 1 }), 'miss');
    assert.equal(await label(a, { ...ASK, seed: 1 }), 'hit', 'memory level still works');
    assert.equal(await label(a, { ...ASK, seed: 2 }), 'miss');
    const errors = (await a.metrics.cacheRedisErrors.get()).values[0]?.value ?? 0;
    assert.ok(errors >= 2, `Redis failures counted (${errors})`);
    const purge = await fetch(`${a.url}/admin/cache/purge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(purge.status, 503);
    assert.equal(purge.headers.get('retry-after'), '1');
    const e = ((await purge.json()) as { error: { code: string; message: string } }).error;
    assert.equal(e.code, 'cache_unavailable');
    assert.match(e.message, /Purged 2 answers from memory/);
  },
);

test(
  'the semantic cache is shared through Redis: a similar question on another instance is a hit',
  { skip: redisSkipReason() },
  async (t) => {
    const redis = await startRedisServer(t);
    const mock = await mockFor(t);
    const embedder = await wordEmbedder(t);
    const [a, b] = (await instances(t, 2, redis.url, mock.url, embedder.url)) as [Gateway, Gateway];
    const ask = (gw: Gateway, content: string) =>
      client(gw)
        .chat.completions.create({ ...ASK, messages: [{ role: 'user', content }] })
        .withResponse();
    const first = await ask(a, 'Is the answer shared?');
    assert.equal(first.response.headers.get('x-spillway-cache'), 'miss');
    await until(
      async () =>
        ((await a.metrics.cacheStores.get()).values.find((v) => v.labels.result === 'stored')?.value ?? 0) === 1,
      'a to store the answer and its vector',
    );
    const similar = await ask(b, 'is the ANSWER shared');
    assert.equal(similar.response.headers.get('x-spillway-cache'), 'hit');
    assert.equal(similar.response.headers.get('x-spillway-cache-similarity'), '1.0000');
    assert.deepEqual(similar.data, first.data);
    assert.equal(mock.stats().received, 1);
    const purge = await fetch(`${b.url}/admin/cache/purge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat' }),
    });
    assert.deepEqual(
      ((await purge.json()) as { purged: unknown }).purged,
      { memory: 1, redis: 1 },
      'vectors are not counted as entries',
    );
    assert.equal(
      (await ask(a, 'is the answer SHARED?')).response.headers.get('x-spillway-cache'),
      'miss',
      'the vectors went with the purge',
    );
  },
);
