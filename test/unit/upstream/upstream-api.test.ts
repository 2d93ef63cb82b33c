import { test } from 'node:test';
import assert from 'node:assert/strict';
import { messagesPath, servesMessages, servesOpenAi } from '../../../src/upstream/upstream-api.ts';

test('which upstreams serve the Messages API: anthropic and both always, auto only on a deepseek kind', () => {
  const rows: [Parameters<typeof servesMessages>[0], Parameters<typeof servesMessages>[1], boolean][] = [
    ['auto', 'deepseek', true],
    ['auto', 'openai', false],
    ['auto', 'vllm', false],
    ['openai', 'deepseek', false],
    ['anthropic', 'openai', true],
    ['both', 'vllm', true],
  ];
  for (const [api, kind, want] of rows) assert.equal(servesMessages(api, kind), want, `${api} ${kind}`);
  assert.equal(servesOpenAi({ api: 'anthropic' }), false);
  for (const api of ['auto', 'openai', 'both'] as const) assert.equal(servesOpenAi({ api }), true);
});

test("the Messages path under an OpenAI or an Anthropic base URL; DeepSeek's under /anthropic", () => {
  const rows: [Parameters<typeof messagesPath>[0], string, string][] = [
    ['deepseek', '', '/anthropic/v1/messages'],
    ['deepseek', '/v1', '/anthropic/v1/messages'],
    ['deepseek', '/anthropic', '/anthropic/v1/messages'],
    ['deepseek', '/proxy/deepseek', '/proxy/deepseek/anthropic/v1/messages'],
    ['openai', '', '/v1/messages'],
    ['openai', '/v1', '/v1/messages'],
    ['vllm', '/gateway', '/gateway/v1/messages'],
  ];
  for (const [kind, base, want] of rows) assert.equal(messagesPath(kind, base), want, `${kind} ${base}`);
});
