import { test } from 'node:test';
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { fixedUpstream, startStack } from '../helpers/stack.ts';
import { until } from '../helpers/until.ts';

type CacheUsage = { prompt_tokens: number; prompt_cache_hit_tokens: number; prompt_cache_miss_tokens: number };
const system = { role: 'system' as const, content: 'You are an experienced financial report analyst. '.repeat(20) };

test("DeepSeek's prompt cache hit and miss tokens reach the client, the metrics, the request log and the dashboard stats", async (t) => {
  const { gw, client } = await startStack(t, {
    mocks: [{ kind: 'deepseek' }],
    config: (urls) => ({
      upstreams: [{ name: 'ds', url: urls[0]!, kind: 'deepseek' }],
      models: { 'deepseek-v4-flash': { routes: [{ upstream: 'ds' }] } },
    }),
    statsIntervalMs: 50,
  });
  const first = await client.chat.completions.create({
    model: 'deepseek-v4-flash',
    messages: [system, { role: 'user', content: 'Summarise it.' }],
    max_tokens: 3,
  });
  const second = await client.chat.completions.create({
    model: 'deepseek-v4-flash',
    messages: [system, { role: 'user', content: 'List the risks.' }],
    max_tokens: 3,
  });
  const u1 = first.usage as unknown as CacheUsage;
  const u2 = second.usage as unknown as CacheUsage;
  assert.equal(u1.prompt_cache_hit_tokens, 0, 'nothing cached before the first request');
  assert.ok(u2.prompt_cache_hit_tokens > 0, 'the repeated system prompt is a hit');
  assert.equal(u2.prompt_cache_hit_tokens + u2.prompt_cache_miss_tokens, u2.prompt_tokens);

  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  const counted = (kind: string) =>
    Number(
      new RegExp(`spillway_tokens_total\\{model="deepseek-v4-flash",upstream="ds",kind="${kind}"\\} (\\d+)`).exec(
        metrics,
      )?.[1],
    );
  assert.equal(counted('prompt_cache_hit'), u2.prompt_cache_hit_tokens);
  assert.equal(counted('prompt_cache_miss'), u1.prompt_cache_miss_tokens + u2.prompt_cache_miss_tokens);

  const log = (await (await fetch(`${gw.url}/admin/requests`)).json()) as {
    requests: { promptCacheHitTokens?: number; promptCacheMissTokens?: number }[];
  };
  assert.deepEqual(
    log.requests.map((r) => [r.promptCacheHitTokens, r.promptCacheMissTokens]),
    [
      [u2.prompt_cache_hit_tokens, u2.prompt_cache_miss_tokens],
      [0, u1.prompt_cache_miss_tokens],
    ],
  );

  const hit = u2.prompt_cache_hit_tokens;
  const ratio = hit / (hit + u1.prompt_cache_miss_tokens + u2.prompt_cache_miss_tokens);
  // The stats are sampled on an interval: wait (bounded) for a frame taken after both answers.
  await until(
    async () =>
      ((await (await fetch(`${gw.url}/admin/stats`)).json()) as { promptCacheHitRatio: number | null })
        .promptCacheHitRatio === ratio,
    'the dashboard stats to show the prompt cache hit ratio',
  );
  const page = await (await fetch(`${gw.url}/dashboard/assets/dashboard.js`)).text();
  assert.match(page, /prompt cache hit/);
});

test("user and user_id (DeepSeek's KV-cache and scheduling key) and metadata.user_id reach the upstream unchanged", async (t) => {
  const bodies: Record<string, unknown>[] = [];
  const up = await fixedUpstream(t, (_req, res, body) => {
    bodies.push(JSON.parse(body) as Record<string, unknown>);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: 'x',
        object: 'chat.completion',
        created: 1,
        model: 'deepseek-v4-flash',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      }),
    );
  });
  const { client } = await startStack(t, {
    mocks: [],
    // A renamed route and an alias's params: the body is rebuilt, and must still carry the end user's id.
    config: () => ({
      upstreams: [{ name: 'ds', url: up.url, kind: 'deepseek' }],
      models: {
        'deepseek-v4-flash': { routes: [{ upstream: 'ds' }] },
        'deepseek-chat': {
          routes: [{ upstream: 'ds', model: 'deepseek-v4-flash', params: { thinking: { type: 'disabled' } } }],
        },
      },
    }),
  });
  const ids = { user: 'end-user-42', user_id: 'tenant_7-user-42', metadata: { user_id: 'end-user-42' } };
  for (const model of ['deepseek-v4-flash', 'deepseek-chat']) {
    await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'hi' }],
      ...ids,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
  }
  for (const b of bodies) assert.deepEqual({ user: b.user, user_id: b.user_id, metadata: b.metadata }, ids);
  assert.equal(bodies.length, 2);
});
