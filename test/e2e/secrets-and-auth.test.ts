import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { startStack } from '../helpers/stack.ts';

const UPSTREAM_KEY = 'sk-upstream-SECRET-4242-abcdef';
const messages = [{ role: 'user' as const, content: 'hi' }];

test('the upstream API key appears in no response, log line or metric', async (t) => {
  const { gw, logs, mocks } = await startStack(t, {
    mocks: [{ apiKeys: [UPSTREAM_KEY] }, { apiKeys: ['sk-other-key-0000000'] }],
    config: (urls) => ({
      log: { level: 'debug' },
      upstreams: [
        { name: 'good', url: `${urls[0]}/v1`, api_key: UPSTREAM_KEY, headers: { 'x-extra': 'x' } },
        { name: 'bad', url: `${urls[1]}/v1`, api_key: UPSTREAM_KEY },
      ],
      models: { chat: { routes: [{ upstream: 'good' }] }, other: { routes: [{ upstream: 'bad' }] } },
    }),
  });
  const bodies: string[] = [];
  const send = async (path: string, body?: unknown, method = 'POST') => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    bodies.push(JSON.stringify([...res.headers]), await res.text());
  };
  await send('/v1/chat/completions', { model: 'chat', messages });
  await send('/v1/chat/completions', { model: 'chat', messages, stream: true });
  await send('/v1/chat/completions', { model: 'other', messages });
  await send('/v1/chat/completions', { model: 'chat', messages, mock: { status: 500 } });
  await send('/v1/chat/completions', { model: 'chat', messages, stream: true, mock: { reset_after_tokens: 2 } });
  await send('/v1/chat/completions', { model: 'nope', messages });
  await send('/v1/models', undefined, 'GET');
  await send('/metrics', undefined, 'GET');
  assert.equal(mocks[0]!.stats().completed >= 2, true, 'the key did reach the upstream');
  const everything = [...bodies, ...logs.lines].join('\n');
  assert.ok(logs.lines.length >= 6, 'requests were logged');
  assert.ok(!everything.includes(UPSTREAM_KEY), 'the key leaked');
  assert.ok(!everything.includes('SECRET-4242'), 'part of the key leaked');
});

test('with gateway keys configured, a missing or wrong key gets 401 and a right one passes', async (t) => {
  const plain = 'gw-key-alpha-123456';
  const hashed = 'gw-key-beta-654321';
  const { gw } = await startStack(t, {
    config: (urls) => ({
      auth: {
        keys: [
          { key: plain, tenant: 'alpha' },
          { key_sha256: createHash('sha256').update(hashed).digest('hex'), tenant: 'beta', models: ['chat'] },
        ],
      },
      tenants: { alpha: {}, beta: {} },
      upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
      models: { chat: { routes: [{ upstream: 'm' }] }, secret: { routes: [{ upstream: 'm' }] } },
    }),
  });
  const client = (key: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
  await assert.rejects(
    client('wrong-key-000000').chat.completions.create({ model: 'chat', messages }),
    OpenAI.AuthenticationError,
  );
  const noKey = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: 'chat', messages }),
  });
  assert.equal(noKey.status, 401);
  assert.equal(((await noKey.json()) as { error: { code: string } }).error.code, 'unauthorized');
  assert.ok(await client(plain).chat.completions.create({ model: 'secret', messages }));
  assert.ok(await client(hashed).chat.completions.create({ model: 'chat', messages }));
  await assert.rejects(
    client(hashed).chat.completions.create({ model: 'secret', messages }),
    OpenAI.PermissionDeniedError,
  );
  assert.deepEqual(
    (await client(hashed).models.list()).data.map((m) => m.id),
    ['chat'],
  );
  const health = await fetch(`${gw.url}/healthz`);
  assert.equal(health.status, 200, 'probes need no key');
});
