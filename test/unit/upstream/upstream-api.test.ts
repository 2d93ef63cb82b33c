import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  messagesPath,
  servesMessages,
  servesNative,
  servesOpenAi,
  servesResponses,
} from '../../../src/upstream/upstream-api.ts';

test('which upstreams serve the Messages API: anthropic and both always, auto only on a deepseek kind', () => {
  const rows: [Parameters<typeof servesMessages>[0], Parameters<typeof servesMessages>[1], boolean][] = [
    ['auto', 'deepseek', true],
    ['auto', 'openai', false],
    ['auto', 'vllm', false],
    ['openai', 'deepseek', false],
    ['anthropic', 'openai', true],
    ['both', 'vllm', true],
    ['all', 'openai', true],
    ['responses', 'deepseek', false],
  ];
  for (const [api, kind, want] of rows) assert.equal(servesMessages(api, kind), want, `${api} ${kind}`);
  assert.equal(servesOpenAi({ api: 'anthropic' }), false);
  for (const api of ['auto', 'openai', 'both', 'responses', 'all'] as const) assert.equal(servesOpenAi({ api }), true);
});

test("which upstreams serve the Responses API: responses and all always, auto only OpenAI's own API", () => {
  const rows: [Parameters<typeof servesResponses>[0], Parameters<typeof servesResponses>[1], boolean][] = [
    [{ api: 'auto', url: 'https://api.openai.com/v1' }, 'openai', true],
    [{ api: 'auto', url: 'https://API.OpenAI.com' }, 'openai', true],
    // vLLM serves /v1/responses in recent versions only, unevenly: passed through when the config says so.
    [{ api: 'auto', url: 'http://10.0.0.5:8000/v1' }, 'vllm', false],
    [{ api: 'auto', url: 'http://10.0.0.5:8000/v1' }, 'openai', false],
    [{ api: 'auto', url: 'https://api.openai.com.evil.example/v1' }, 'openai', false],
    [{ api: 'auto', url: 'https://api.deepseek.com' }, 'deepseek', false],
    [{ api: 'openai', url: 'https://api.openai.com/v1' }, 'openai', false],
    [{ api: 'both', url: 'https://api.openai.com/v1' }, 'openai', false],
    [{ api: 'anthropic', url: 'https://api.openai.com/v1' }, 'openai', false],
    [{ api: 'responses', url: 'http://10.0.0.5:8000/v1' }, 'vllm', true],
    [{ api: 'all', url: 'http://10.0.0.5:8000/v1' }, 'sglang', true],
  ];
  for (const [u, kind, want] of rows) assert.equal(servesResponses(u, kind), want, `${u.api} ${u.url} ${kind}`);
  assert.equal(servesNative('responses', { api: 'responses', url: 'http://h/v1' }, 'vllm'), true);
  assert.equal(servesNative('anthropic', { api: 'responses', url: 'http://h/v1' }, 'vllm'), false);
  assert.equal(servesNative('anthropic', { api: 'all', url: 'http://h/v1' }, 'vllm'), true);
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
