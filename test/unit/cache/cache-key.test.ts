import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheKey } from '../../../src/cache/cache-key.ts';

const base = { model: 'chat', messages: [{ role: 'user', content: 'hi' }], temperature: 0 };
const tool = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

/** Pairs of bodies and whether they must share a key. */
const CASES: { name: string; a: Record<string, unknown>; b: Record<string, unknown>; same: boolean }[] = [
  {
    name: 'field order does not matter',
    a: { ...base, max_tokens: 5 },
    b: { max_tokens: 5, temperature: 0, messages: base.messages, model: 'chat' },
    same: true,
  },
  {
    name: 'nested field order does not matter',
    a: { ...base, tools: [tool] },
    b: {
      ...base,
      tools: [
        {
          function: { parameters: { properties: { city: { type: 'string' } }, type: 'object' }, name: 'get_weather' },
          type: 'function',
        },
      ],
    },
    same: true,
  },
  { name: 'stream does not matter (replay either way)', a: base, b: { ...base, stream: true }, same: true },
  {
    name: 'stream_options does not matter',
    a: { ...base, stream: true },
    b: { ...base, stream: true, stream_options: { include_usage: true } },
    same: true,
  },
  { name: 'user does not matter', a: base, b: { ...base, user: 'alice' }, same: true },
  {
    name: 'metadata, store, safety_identifier and prompt_cache_key do not matter',
    a: base,
    b: { ...base, metadata: { a: '1' }, store: true, safety_identifier: 'x', prompt_cache_key: 'k' },
    same: true,
  },
  {
    name: 'the body model field does not matter (the resolved public model is keyed)',
    a: base,
    b: { ...base, model: 'alias' },
    same: true,
  },
  { name: 'an explicit undefined equals an absent field', a: base, b: { ...base, seed: undefined }, same: true },
  {
    name: 'message content matters',
    a: base,
    b: { ...base, messages: [{ role: 'user', content: 'hi!' }] },
    same: false,
  },
  {
    name: 'message order matters',
    a: {
      ...base,
      messages: [
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
      ],
    },
    b: {
      ...base,
      messages: [
        { role: 'user', content: 'b' },
        { role: 'user', content: 'a' },
      ],
    },
    same: false,
  },
  { name: 'temperature matters', a: base, b: { ...base, temperature: 0.5 }, same: false },
  { name: 'seed matters', a: { ...base, seed: 1 }, b: { ...base, seed: 2 }, same: false },
  { name: 'max_tokens matters', a: { ...base, max_tokens: 5 }, b: { ...base, max_tokens: 6 }, same: false },
  { name: 'tools matter', a: base, b: { ...base, tools: [tool] }, same: false },
  {
    name: 'tool_choice matters',
    a: { ...base, tools: [tool] },
    b: { ...base, tools: [tool], tool_choice: 'required' },
    same: false,
  },
  { name: 'response_format matters', a: base, b: { ...base, response_format: { type: 'json_object' } }, same: false },
  {
    name: 'unknown provider fields matter (DeepSeek thinking)',
    a: base,
    b: { ...base, thinking: { type: 'enabled' } },
    same: false,
  },
];

for (const c of CASES) {
  test(`cache key: ${c.name}`, () => {
    const a = cacheKey('chat', 'chat', c.a);
    const b = cacheKey('chat', 'chat', c.b);
    assert.equal(a === b, c.same, `${a} vs ${b}`);
  });
}

test('cache key: the endpoint and the resolved model are part of the key', () => {
  assert.notEqual(cacheKey('chat', 'chat', base), cacheKey('completions', 'chat', base));
  assert.notEqual(cacheKey('chat', 'chat', base), cacheKey('chat', 'chat-lite', base));
});

test('cache key: is URL- and Redis-pattern-safe text of fixed length', () => {
  const k = cacheKey('chat', 'chat', base);
  assert.match(k, /^[A-Za-z0-9_-]{43}$/);
});
