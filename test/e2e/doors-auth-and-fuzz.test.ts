import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startStack } from '../helpers/stack.ts';

const keysConfig = (urls: string[]) => ({
  auth: {
    keys: [
      { key: 'gw-key-alpha-123456', tenant: 'alpha' },
      { key: 'gw-key-beta-654321', tenant: 'beta', models: ['chat'] },
    ],
  },
  tenants: { alpha: {}, beta: {} },
  upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
  models: { chat: { routes: [{ upstream: 'm' }] }, secret: { routes: [{ upstream: 'm' }] } },
});

test("the Messages door takes the gateway key as x-api-key or bearer, and refuses in Anthropic's shape", async (t) => {
  const { gw } = await startStack(t, { config: keysConfig });
  const ask = { model: 'chat', max_tokens: 3, messages: [{ role: 'user' as const, content: 'hi' }] };
  const viaHeader = new Anthropic({ baseURL: gw.url, apiKey: 'gw-key-alpha-123456', maxRetries: 0 });
  assert.equal((await viaHeader.messages.create(ask)).type, 'message');
  const viaBearer = new Anthropic({ baseURL: gw.url, authToken: 'gw-key-alpha-123456', apiKey: null, maxRetries: 0 });
  assert.equal((await viaBearer.messages.create(ask)).type, 'message');
  await assert.rejects(
    new Anthropic({ baseURL: gw.url, apiKey: 'wrong-key-000000', maxRetries: 0 }).messages.create(ask),
    (e: unknown) => {
      assert.ok(e instanceof Anthropic.AuthenticationError, `got ${String(e)}`);
      assert.equal((e.error as { error: { type: string } }).error.type, 'authentication_error');
      return true;
    },
  );
  await assert.rejects(
    new Anthropic({ baseURL: gw.url, apiKey: 'gw-key-beta-654321', maxRetries: 0 }).messages.create({
      ...ask,
      model: 'secret',
    }),
    Anthropic.PermissionDeniedError,
  );
});

test('a stored response is found only with a key of the tenant that created it', async (t) => {
  const { gw } = await startStack(t, { config: keysConfig });
  const alpha = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'gw-key-alpha-123456', maxRetries: 0 });
  const beta = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'gw-key-beta-654321', maxRetries: 0 });
  const r = await alpha.responses.create({ model: 'chat', input: 'hi' });
  assert.equal((await alpha.responses.retrieve(r.id)).id, r.id);
  await assert.rejects(beta.responses.retrieve(r.id), OpenAI.NotFoundError);
  await assert.rejects(
    beta.responses.create({ model: 'chat', input: 'more', previous_response_id: r.id }),
    OpenAI.NotFoundError,
  );
  assert.equal((await fetch(`${gw.url}/v1/responses/${r.id}`)).status, 401, 'no key, no stored response');
});

/** A small deterministic PRNG (mulberry32): the fuzz cases are the same on every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD: unknown[] = [
  null,
  0,
  -1,
  1.5,
  '',
  'x',
  true,
  [],
  [null],
  {},
  { type: 'text' },
  { type: 5 },
  [{ type: 'text', text: 5 }],
  'a'.repeat(50),
];

/** `body` with one value somewhere in it (at any depth) replaced by an odd one, or removed. */
function mutate(body: unknown, next: () => number): unknown {
  if (body === null || typeof body !== 'object') return ODD[Math.floor(next() * ODD.length)];
  const copy: Record<string, unknown> | unknown[] = Array.isArray(body)
    ? [...(body as unknown[])]
    : { ...(body as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return ODD[Math.floor(next() * ODD.length)];
  const k = keys[Math.floor(next() * keys.length)] as string;
  const target = copy as Record<string, unknown>;
  if (next() < 0.15) delete target[k];
  else target[k] = next() < 0.5 ? mutate(target[k], next) : ODD[Math.floor(next() * ODD.length)];
  return copy;
}

test("malformed bodies on every door path get a clean 4xx in the door's shape, never a 500", async (t) => {
  const { gw } = await startStack(t);
  const seeds: [string, Record<string, unknown>, 'anthropic' | 'openai'][] = [
    [
      '/v1/messages',
      {
        model: 'chat',
        max_tokens: 3,
        system: [{ type: 'text', text: 's' }],
        metadata: { user_id: 'u' },
        tool_choice: { type: 'tool', name: 'f' },
        tools: [{ name: 'f', input_schema: { type: 'object' } }],
        thinking: { type: 'enabled' },
        stop_sequences: ['x'],
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'a' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AA' } },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 't' },
              { type: 'tool_use', id: 'c', name: 'f', input: {} },
            ],
          },
          {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: 'c', content: [{ type: 'text', text: 'r' }] }],
          },
        ],
      },
      'anthropic',
    ],
    [
      '/anthropic/v1/messages/count_tokens',
      { model: 'chat', messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 'f' }] },
      'anthropic',
    ],
    [
      '/v1/responses',
      {
        model: 'chat',
        instructions: 'i',
        max_output_tokens: 3,
        text: { format: { type: 'json_schema', name: 'n', schema: {} } },
        tool_choice: { type: 'function', name: 'f' },
        tools: [{ type: 'function', name: 'f', parameters: {} }],
        input: [
          { role: 'developer', content: 'd' },
          { type: 'reasoning', summary: [{ text: 'r' }] },
          { type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' },
          { type: 'function_call_output', call_id: 'c', output: 'o' },
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'hi' },
              { type: 'input_image', image_url: 'data:,' },
            ],
          },
        ],
      },
      'openai',
    ],
  ];
  const next = rng(15);
  let cases = 0;
  for (const [path, seed, shape] of seeds) {
    for (let i = 0; i < 60; i++) {
      let body: unknown = seed;
      for (let m = 1 + Math.floor(next() * 3); m > 0; m--) body = mutate(body, next);
      const r = await fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await r.text();
      cases++;
      assert.ok(r.status < 500, `${path} ${JSON.stringify(body)} → ${r.status} ${text}`);
      if (r.status >= 400) {
        const json = JSON.parse(text) as Record<string, unknown>;
        if (shape === 'anthropic') assert.equal(json.type, 'error', text);
        else assert.equal(typeof (json.error as { message?: unknown }).message, 'string', text);
      }
    }
  }
  assert.equal(cases, 180);
});

test("Prefer: respond-async on a door is refused in the door's shape rather than answered in chat-completions shape later", async (t) => {
  const { gw } = await startStack(t);
  const r = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({ model: 'chat', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(r.status, 400);
  assert.equal(((await r.json()) as { type: string }).type, 'error');
});
