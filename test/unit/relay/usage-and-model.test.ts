import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mayCarryUsage, usageInJson } from '../../../src/relay/usage.ts';
import { modelRewriter } from '../../../src/relay/rewrite-model.ts';

test('usageInJson parses only the usage object, DeepSeek cache fields included', () => {
  const text = JSON.stringify({
    id: 'x',
    choices: [{ message: { content: 'a "usage": {' } }],
    usage: {
      prompt_tokens: 10,
      completion_tokens: 5,
      total_tokens: 15,
      prompt_cache_hit_tokens: 4,
      prompt_tokens_details: { cached_tokens: 4 },
    },
  });
  assert.deepEqual(usageInJson(text), {
    promptTokens: 10,
    completionTokens: 5,
    promptCacheHitTokens: 4,
    promptCacheMissTokens: 6,
  });
  assert.deepEqual(
    usageInJson(Buffer.from(`{"note":"héllo ✓",${text.slice(1)}`)),
    { promptTokens: 10, completionTokens: 5, promptCacheHitTokens: 4, promptCacheMissTokens: 6 },
    'from the bytes, after multi-byte text',
  );
  assert.equal(usageInJson('{"id":"x","usage":null}'), undefined);
  assert.equal(usageInJson('{"id":"x"}'), undefined);
  assert.equal(mayCarryUsage('{"usage":null}'), false);
  assert.equal(mayCarryUsage('{"usage": {"prompt_tokens":1}}'), true);
});

test('the model field is rewritten in place and nothing else changes', () => {
  assert.equal(modelRewriter('same', 'same'), undefined);
  const rw = modelRewriter('deepseek-ai/DeepSeek-V3', 'deepseek-chat');
  assert.ok(rw);
  const body =
    '{"id":"1","model": "deepseek-ai/DeepSeek-V3","choices":[{"message":{"content":"\\"model\\":\\"deepseek-ai/DeepSeek-V3\\""}}]}';
  assert.equal(
    rw(body),
    '{"id":"1","model": "deepseek-chat","choices":[{"message":{"content":"\\"model\\":\\"deepseek-ai/DeepSeek-V3\\""}}]}',
  );
});

test('prompt cache misses are known only where the upstream reports a cache split', () => {
  const rows: [string, Record<string, unknown>, number, number | undefined][] = [
    ['DeepSeek: both fields', { prompt_tokens: 10, prompt_cache_hit_tokens: 4, prompt_cache_miss_tokens: 6 }, 4, 6],
    [
      'OpenAI: cached_tokens out of prompt_tokens',
      { prompt_tokens: 10, prompt_tokens_details: { cached_tokens: 3 } },
      3,
      7,
    ],
    ['no cache reported (vLLM, Ollama): no miss counted', { prompt_tokens: 10 }, 0, undefined],
    ['null details', { prompt_tokens: 10, prompt_tokens_details: null }, 0, undefined],
  ];
  for (const [name, usage, hit, miss] of rows) {
    const u = usageInJson(JSON.stringify({ usage: { completion_tokens: 1, ...usage } }));
    assert.equal(u?.promptCacheHitTokens, hit, name);
    assert.equal(u?.promptCacheMissTokens, miss, name);
  }
});
