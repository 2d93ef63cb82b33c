import { test } from 'node:test';
import assert from 'node:assert/strict';
import { betaBasePath, upstreamRequest } from '../../../src/upstream/upstream-path.ts';
import { repairReasoning } from '../../../src/upstream/reasoning-repair.ts';
import type { UpstreamKind } from '../../../src/upstream/upstream-kind.ts';

const user = { role: 'user', content: 'hi' };
const prefixed = { messages: [user, { role: 'assistant', content: '```python\n', prefix: true }] };
const strict = {
  messages: [user],
  tools: [{ type: 'function', function: { name: 'f', strict: true, parameters: {} } }],
};
const loose = { messages: [user], tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] };
const mentions = { messages: [{ role: 'user', content: 'what does "prefix" mean, and "strict"?' }] };
const prefixNotLast = { messages: [{ role: 'assistant', content: 'a', prefix: true }, user] };

test('DeepSeek beta features go to /beta; everything else, and every other kind, keeps its path', () => {
  const cases: [UpstreamKind, string, string, unknown, string][] = [
    ['deepseek', '', '/chat/completions', prefixed, '/beta/chat/completions'],
    ['deepseek', '/v1', '/chat/completions', prefixed, '/beta/chat/completions'],
    ['deepseek', '/beta', '/chat/completions', prefixed, '/beta/chat/completions'],
    ['deepseek', '/proxy/ds', '/chat/completions', strict, '/proxy/ds/beta/chat/completions'],
    ['deepseek', '', '/chat/completions', loose, '/chat/completions'],
    ['deepseek', '', '/chat/completions', mentions, '/chat/completions'],
    ['deepseek', '', '/chat/completions', prefixNotLast, '/chat/completions'],
    ['deepseek', '', '/completions', { prompt: 'def f(', suffix: '    return 1' }, '/beta/completions'],
    ['deepseek', '', '/embeddings', { input: 'prefix' }, '/embeddings'],
    ['vllm', '/v1', '/chat/completions', prefixed, '/v1/chat/completions'],
    ['openai', '/v1', '/completions', { prompt: 'a', suffix: 'b' }, '/v1/completions'],
  ];
  for (const [kind, base, path, body, want] of cases) {
    for (const bytes of [JSON.stringify(body), Buffer.from(JSON.stringify(body))]) {
      assert.equal(
        upstreamRequest(kind, base, path, bytes).path,
        want,
        `${kind} ${base}${path} ${JSON.stringify(body)}`,
      );
    }
  }
});

test('a body that needs nothing is sent as the very same bytes', () => {
  for (const body of [
    Buffer.from(JSON.stringify(loose)),
    JSON.stringify(prefixed),
    Buffer.from('{not json "prefix"'),
  ]) {
    assert.equal(upstreamRequest('deepseek', '', '/chat/completions', body).body, body);
  }
  const raw = Buffer.from(
    JSON.stringify({ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c' }] }] }),
  );
  assert.equal(upstreamRequest('vllm', '', '/chat/completions', raw).body, raw, 'only DeepSeek needs the repair');
});

test('a DeepSeek tool loop gets reasoning_content back on assistant turns that made tool calls', () => {
  const call = { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } };
  const body = {
    messages: [
      user,
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: 'call_1', content: '42' },
      { role: 'assistant', content: null, tool_calls: [call], reasoning_content: 'kept' },
      { role: 'assistant', content: 'plain answer' },
      { role: 'assistant', content: '', tool_calls: [] },
    ],
  };
  const out = upstreamRequest('deepseek', '', '/chat/completions', Buffer.from(JSON.stringify(body)));
  const sent = JSON.parse(String(out.body)) as { messages: Record<string, unknown>[] };
  assert.deepEqual(
    sent.messages.map((m) => m.reasoning_content),
    [undefined, '', undefined, 'kept', undefined, undefined],
  );
  assert.equal(out.path, '/chat/completions');
  assert.equal(repairReasoning({ messages: 'nope' }), false);
  assert.equal(
    repairReasoning({ messages: [null, 3, { role: 'assistant', tool_calls: [call], reasoning_content: '' }] }),
    false,
  );
});

test("the beta base path replaces DeepSeek's /v1 alias and keeps a proxy prefix", () => {
  assert.deepEqual(['', '/v1', '/beta', '/gw/deepseek', '/gw/v1'].map(betaBasePath), [
    '/beta',
    '/beta',
    '/beta',
    '/gw/deepseek/beta',
    '/gw/beta',
  ]);
});
