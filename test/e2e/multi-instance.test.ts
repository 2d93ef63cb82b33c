import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { redisSkipReason, startRedisServer } from '../helpers/redis-server.ts';
import { startMock } from '../../src/mock/server.ts';
import { resolveConfig } from '../../src/config/load.ts';
import { startGateway, type Gateway } from '../../src/lifecycle/start-gateway.ts';
import { createLogger } from '../../src/observe/log.ts';
import type { TestContext } from 'node:test';

const KEYS = ['sk-shared-acct-0001', 'sk-shared-acct-0002'];

async function threeInstances(
  t: TestContext,
  redisUrl: string,
  upstreamUrl: string,
  extra: Record<string, unknown>,
): Promise<Gateway[]> {
  const config = resolveConfig(
    {
      log: { level: 'silent' },
      state: {
        redis: {
          url: redisUrl,
          prefix: `t${process.pid}-${Math.random().toString(36).slice(2)}:`,
          local_fraction: 0.34,
        },
      },
      auth: { keys: [{ key: 'tenant-key-000001', tenant: 'acme' }] },
      tenants: { acme: {} },
      upstreams: [
        {
          name: 'provider',
          url: `${upstreamUrl}/v1`,
          max_concurrency: 100,
          keys: KEYS.map((key, i) => ({ key, name: `k${i + 1}`, max_concurrency: 3 })),
        },
      ],
      models: { chat: { routes: [{ upstream: 'provider' }] } },
      queue: { max_wait: '20s' },
      ...extra,
    },
    'multi-instance test',
    {},
  );
  const gws: Gateway[] = [];
  for (let i = 0; i < 3; i++) gws.push(await startGateway(config, { port: 0, log: createLogger('silent') }));
  t.after(() => Promise.all(gws.map((g) => g.shutdown(0))));
  return gws;
}

async function send(gw: Gateway, i: number) {
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer tenant-key-000001' },
    body: JSON.stringify({
      model: 'chat',
      messages: [{ role: 'user', content: `q${i}` }],
      max_tokens: 4,
      stream: i % 2 === 0,
    }),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

test(
  'three instances on one Redis admit a tenant limit of N per minute in total',
  { skip: redisSkipReason() },
  async (t) => {
    const redis = await startRedisServer(t);
    const mock = await startMock({ apiKeys: KEYS });
    t.after(() => mock.close());
    const gws = await threeInstances(t, redis.url, mock.url, { tenants: { acme: { requests_per_minute: 60 } } });
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 150 }, (_v, i) => send(gws[i % 3] as Gateway, i)));
    const admitted = results.filter((r) => r.status === 200).length;
    // GCRA: a burst of one minute's worth (60), then one more each second. On a loaded machine the 150 requests can
    // take more than a second to reach the gateways, so the exact bound counts the refills of the time they took.
    const refilled = Math.floor((performance.now() - started) / 1000);
    assert.ok(
      admitted >= 59 && admitted <= 61 + refilled,
      `admitted ${admitted} of 60 per minute (+${refilled} refilled) across three instances`,
    );
    for (const r of results.filter((x) => x.status !== 200)) assert.match(r.text, /"code":"rate_limited"/);
    assert.equal(mock.stats().received, admitted);
  },
);

test(
  'an account cap holds across three instances, and killing Redis mid-run loses no accepted request',
  { skip: redisSkipReason() },
  async (t) => {
    const redis = await startRedisServer(t);
    const mock = await startMock({ apiKeys: KEYS, perKeyConcurrency: 3, ttftMs: 40, tokenMs: 3 });
    t.after(() => mock.close());
    const gws = await threeInstances(t, redis.url, mock.url, {});
    const first = await Promise.all(Array.from({ length: 60 }, (_v, i) => send(gws[i % 3] as Gateway, i)));
    assert.ok(
      first.every((r) => r.status === 200),
      `all served: ${first.map((r) => r.status).join(',')}`,
    );
    const peak = mock.stats().peakPerKey;
    for (const [k, n] of Object.entries(peak))
      assert.ok(n <= 3, `account ${k} peaked at ${n} across instances (cap 3)`);
    assert.equal(mock.stats().rejected.key_concurrency ?? 0, 0, 'the provider never had to refuse for concurrency');

    // Redis dies while requests are in flight: every accepted request still completes.
    const during = Array.from({ length: 30 }, (_v, i) => send(gws[i % 3] as Gateway, 100 + i));
    await new Promise((r) => mock.events.once('request', r));
    await redis.stop();
    const second = await Promise.all(during);
    for (const r of second) {
      assert.ok(r.status === 200 || r.status === 429 || r.status === 503, `status ${r.status}`);
      if (r.status === 200 && !r.text.startsWith('{'))
        assert.ok(r.text.endsWith('data: [DONE]\n\n'), 'an accepted stream completed');
    }
    assert.ok(
      second.filter((r) => r.status === 200).length >= 27,
      `with local limits the instances keep serving: ${second.map((r) => r.status + r.text.slice(0, 120)).join(' | ')}`,
    );
    const m = await (await fetch(`${gws[0]!.url}/metrics`)).text();
    assert.match(m, /^spillway_state_degraded 1$/m);
  },
);
