import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectivePriority } from '../../../src/admission/priority.ts';
import { estimateTokens, DEFAULT_COMPLETION_ESTIMATE } from '../../../src/admission/estimate-tokens.ts';
import { formatReset } from '../../../src/admission/ratelimit-headers.ts';

test('priority: asked for, else the tenant default, capped by the tenant', () => {
  const t = { priority: 'low' as const, maxPriority: 'normal' as const, limits: {} };
  const cases: [string | undefined, typeof t | undefined, string][] = [
    ['high', undefined, 'high'],
    [undefined, undefined, 'normal'],
    ['bogus', undefined, 'normal'],
    [undefined, t, 'low'],
    ['high', t, 'normal'],
    ['low', t, 'low'],
    ['normal', t, 'normal'],
  ];
  for (const [asked, tenant, want] of cases)
    assert.equal(effectivePriority(asked, tenant), want, `${String(asked)} / ${tenant ? 'capped' : 'none'}`);
});

test("token estimate: a quarter of the prompt's UTF-8 bytes plus max_tokens", () => {
  assert.equal(estimateTokens({ messages: [{ role: 'user', content: 'x'.repeat(400) }], max_tokens: 50 }), 150);
  assert.equal(
    estimateTokens({ messages: [{ role: 'user', content: [{ type: 'text', text: 'abcd' }] }] }),
    1 + DEFAULT_COMPLETION_ESTIMATE,
  );
  assert.equal(estimateTokens({ input: ['abcd', 'efgh'] }), 2, 'embeddings produce no completion');
  assert.equal(estimateTokens({ prompt: 'abcdefgh', max_completion_tokens: 3 }), 5);
});

test('token estimate: scripts beyond ASCII count as tokenizers count them, not at four characters a token', () => {
  // [script, text, the estimate: a quarter of its UTF-8 bytes, near what the tokenizers count]
  const cases: [string, string, number][] = [
    ['English', 'the quick brown fox jumps over the lazy dog '.repeat(25), 275],
    // DeepSeek: a Chinese character is about 0.6 of a token; OpenAI's tokenizers 0.7–1.
    ['Chinese', '服务器繁忙请稍后再试'.repeat(40), 300],
    ['Russian', 'сервер перегружен '.repeat(20), 170],
    ['emoji', '🙂'.repeat(10), 10],
  ];
  for (const [script, text, want] of cases)
    assert.equal(estimateTokens({ prompt: text, max_tokens: 1 }) - 1, want, script);
});

test('x-ratelimit reset times are written as OpenAI writes them', () => {
  const cases: [number, string][] = [
    [0, '0ms'],
    [250, '250ms'],
    [1000, '1s'],
    [1001, '2s'],
    [60_000, '1m0s'],
    [3_723_000, '1h2m3s'],
  ];
  for (const [ms, want] of cases) assert.equal(formatReset(ms), want);
});
