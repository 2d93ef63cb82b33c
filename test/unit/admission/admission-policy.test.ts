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

test('token estimate: prompt characters / 4 plus max_tokens', () => {
  assert.equal(estimateTokens({ messages: [{ role: 'user', content: 'x'.repeat(400) }], max_tokens: 50 }), 150);
  assert.equal(
    estimateTokens({ messages: [{ role: 'user', content: [{ type: 'text', text: 'abcd' }] }] }),
    1 + DEFAULT_COMPLETION_ESTIMATE,
  );
  assert.equal(estimateTokens({ input: ['abcd', 'efgh'] }), 2, 'embeddings produce no completion');
  assert.equal(estimateTokens({ prompt: 'abcdefgh', max_completion_tokens: 3 }), 5);
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
