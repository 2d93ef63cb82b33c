import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mayCarryUsage, usageInJson } from '../../../src/relay/usage.ts';
import { modelRewriter } from '../../../src/relay/rewrite-model.ts';

test('usageInJson parses only the usage object, DeepSeek cache fields included', () => {
  const text = JSON.stringify({ id: 'x', choices: [{ message: { content: 'a "usage": {' } }], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_cache_hit_tokens: 4, prompt_tokens_details: { cached_tokens: 4 } } });
  assert.deepEqual(usageInJson(text), { promptTokens: 10, completionTokens: 5, promptCacheHitTokens: 4 });
  assert.deepEqual(usageInJson(Buffer.from(`{"note":"héllo ✓",${text.slice(1)}`)), { promptTokens: 10, completionTokens: 5, promptCacheHitTokens: 4 }, 'from the bytes, after multi-byte text');
  assert.equal(usageInJson('{"id":"x","usage":null}'), undefined);
  assert.equal(usageInJson('{"id":"x"}'), undefined);
  assert.equal(mayCarryUsage('{"usage":null}'), false);
  assert.equal(mayCarryUsage('{"usage": {"prompt_tokens":1}}'), true);
});

test('the model field is rewritten in place and nothing else changes', () => {
  assert.equal(modelRewriter('same', 'same'), undefined);
  const rw = modelRewriter('deepseek-ai/DeepSeek-V3', 'deepseek-chat');
  assert.ok(rw);
  const body = '{"id":"1","model": "deepseek-ai/DeepSeek-V3","choices":[{"message":{"content":"\\"model\\":\\"deepseek-ai/DeepSeek-V3\\""}}]}';
  assert.equal(rw(body), '{"id":"1","model": "deepseek-chat","choices":[{"message":{"content":"\\"model\\":\\"deepseek-ai/DeepSeek-V3\\""}}]}');
});
