import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startMock } from '../../src/mock/server.ts';
import { resolveConfig } from '../../src/config/load.ts';
import { startGateway, type Gateway } from '../../src/lifecycle/start-gateway.ts';
import { createLogger } from '../../src/observe/log.ts';
import { FakeClock } from '../../src/clock.ts';
import { answerText } from '../../src/mock/answer-text.ts';
import { launchRedisServer, redisSkipReason } from '../helpers/redis-server.ts';

/**
 * Stored responses live in the durable store (responses.store: SQLite by default, Redis when instances share one):
 * a restarted gateway, or another instance, still serves previous_response_id and GET /v1/responses/{id}.
 */
const prompt = 'Tell me a story';

async function gatewayOn(
  t: TestContext,
  raw: Record<string, unknown>,
  clock?: FakeClock,
): Promise<{ gw: Gateway; client: OpenAI }> {
  const gw = await startGateway(resolveConfig(raw, 'test config', {}), {
    port: 0,
    log: createLogger('silent'),
    ...(clock === undefined ? {} : { responsesClock: clock }),
  });
  t.after(() => gw.shutdown(0));
  return { gw, client: new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 }) };
}

async function setUp(t: TestContext) {
  const mock = await startMock({});
  t.after(() => mock.close());
  const dir = mkdtempSync(join(tmpdir(), 'spillway-responses-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const raw = {
    upstreams: [{ name: 'm', url: `${mock.url}/v1` }],
    models: { chat: { routes: [{ upstream: 'm' }] } },
    jobs: { data_dir: dir },
  };
  return { raw };
}

test('after a restart, previous_response_id still continues the conversation and GET /v1/responses/{id} still answers', async (t) => {
  const { raw } = await setUp(t);
  const first = await gatewayOn(t, raw);
  const r1 = await first.client.responses.create({
    model: 'chat',
    input: prompt,
    instructions: 'Be brief',
    max_output_tokens: 6,
  });
  await first.gw.shutdown(0);

  const second = await gatewayOn(t, raw);
  const got = await second.client.responses.retrieve(r1.id);
  assert.equal(got.id, r1.id);
  assert.equal(got.output_text, r1.output_text);
  const r2 = await second.client.responses.create({
    model: 'chat',
    previous_response_id: r1.id,
    input: 'And then?',
    max_output_tokens: 6,
  });
  // The stored conversation (without the old instructions, as OpenAI does) came back from the file.
  assert.equal(r2.output_text, answerText(1, `${prompt}\n${r1.output_text}\nAnd then?`, 6));
  assert.equal(r2.previous_response_id, r1.id);
});

test('a stored response leaves after responses.retention: then 404 response_not_found', async (t) => {
  const { raw } = await setUp(t);
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const { client } = await gatewayOn(t, { ...raw, responses: { retention: '1h' } }, clock);
  const r = await client.responses.create({ model: 'chat', input: prompt, max_output_tokens: 3 });
  clock.advance(59 * 60 * 1000);
  assert.equal((await client.responses.retrieve(r.id)).id, r.id);
  clock.advance(60 * 1000);
  await assert.rejects(client.responses.retrieve(r.id), (e: unknown) => {
    assert.ok(e instanceof OpenAI.NotFoundError);
    assert.equal(e.code, 'response_not_found');
    return true;
  });
});

test('with state.redis, one instance finds what another stored', { skip: redisSkipReason() }, async (t) => {
  const redis = await launchRedisServer();
  t.after(() => redis.stop());
  const { raw } = await setUp(t);
  const shared = { ...raw, state: { redis: { url: redis.url } } };
  const a = await gatewayOn(t, shared);
  const b = await gatewayOn(t, shared);
  const r1 = await a.client.responses.create({ model: 'chat', input: prompt, max_output_tokens: 4 });
  assert.equal((await b.client.responses.retrieve(r1.id)).output_text, r1.output_text);
  const r2 = await b.client.responses.create({
    model: 'chat',
    previous_response_id: r1.id,
    input: 'More',
    max_output_tokens: 4,
  });
  assert.equal(r2.output_text, answerText(1, `${prompt}\n${r1.output_text}\nMore`, 4));
});
