import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerTokens, promptText } from '../../src/mock/answer-text.ts';
import { mockFor } from '../helpers/mock.ts';
import { parseEngineMetrics, type EngineLoad } from '../../src/balance/engine-load.ts';

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

const user = { role: 'user', content: 'Write a poem' };
const words = answerTokens(1, promptText({ messages: [user] }), 10);
const prefixed = {
  model: 'deepseek-chat',
  messages: [user, { role: 'assistant', content: words.slice(0, 4).join(''), prefix: true }],
  max_tokens: 6,
};
const final = {
  model: 'm',
  messages: [user, { role: 'assistant', content: words.slice(0, 4).join('') }],
  continue_final_message: true,
  add_generation_prompt: false,
  max_tokens: 6,
};
const fim = { model: 'deepseek-chat', prompt: 'def fib(a):', suffix: '    return fib(a-1) + fib(a-2)', max_tokens: 5 };
const call = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"q":"x"}' } };
const toolLoop = (assistant: Record<string, unknown>) => ({
  model: 'deepseek-chat',
  messages: [
    user,
    { role: 'assistant', content: null, tool_calls: [call], ...assistant },
    { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
  ],
});

async function text(res: Response): Promise<string> {
  const json = (await res.json()) as { choices: { message: { content: string } }[] };
  return json.choices[0]?.message.content ?? '';
}

test('a deepseek-kind simulator serves prefix completion and FIM only under /beta, as DeepSeek documents', async (t) => {
  const mock = await mockFor(t, { kind: 'deepseek' });
  const outside = await post(`${mock.url}/v1/chat/completions`, prefixed);
  assert.equal(outside.status, 400);
  assert.match(((await outside.json()) as { error: { message: string } }).error.message, /beta/);
  assert.equal((await post(`${mock.url}/chat/completions`, prefixed)).status, 400);
  const inside = await post(`${mock.url}/beta/chat/completions`, prefixed);
  assert.equal(inside.status, 200);
  assert.equal(await text(inside), words.slice(4).join(''), 'the prefix is continued, not repeated');
  assert.equal((await post(`${mock.url}/v1/completions`, fim)).status, 400);
  assert.equal((await post(`${mock.url}/beta/completions`, fim)).status, 200);
  assert.equal(
    (await post(`${mock.url}/beta/chat/completions`, { model: 'deepseek-chat', messages: [user] })).status,
    200,
    'plain chat works under /beta too',
  );
  const models = (await (await fetch(`${mock.url}/v1/models`)).json()) as { data: { owned_by: string }[] };
  assert.equal(models.data[0]?.owned_by, 'deepseek');
  // continue_final_message is not DeepSeek's: the answer starts afresh.
  assert.equal(
    await text(await post(`${mock.url}/v1/chat/completions`, final)),
    answerTokens(1, promptText(final), 6).join(''),
  );
});

test('a deepseek-kind simulator refuses a tool loop whose tool-call turn lost its reasoning_content', async (t) => {
  const mock = await mockFor(t, { kind: 'deepseek' });
  const missing = await post(`${mock.url}/v1/chat/completions`, toolLoop({}));
  assert.equal(missing.status, 400);
  assert.match(((await missing.json()) as { error: { message: string } }).error.message, /reasoning_content.*index 1/);
  assert.equal((await post(`${mock.url}/v1/chat/completions`, toolLoop({ reasoning_content: '' }))).status, 200);
});

test('vLLM and SGLang simulators continue only with continue_final_message and name themselves; without a kind there is no /beta', async (t) => {
  for (const kind of ['vllm', 'sglang'] as const) {
    const mock = await mockFor(t, { kind });
    assert.equal(await text(await post(`${mock.url}/v1/chat/completions`, final)), words.slice(4).join(''));
    const models = (await (await fetch(`${mock.url}/v1/models`)).json()) as { data: { owned_by: string }[] };
    assert.equal(models.data[0]?.owned_by, kind);
  }
  const generic = await mockFor(t, {});
  assert.equal((await post(`${generic.url}/beta/chat/completions`, prefixed)).status, 404);
  assert.equal(
    (await post(`${generic.url}/v1/chat/completions`, prefixed)).status,
    200,
    'a generic simulator understands every form',
  );
  assert.equal((await post(`${generic.url}/v1/chat/completions`, toolLoop({}))).status, 200);
});

test('vLLM and SGLang simulators serve their /metrics under their own names, which the gateway reads', async (t) => {
  for (const kind of ['vllm', 'sglang'] as const) {
    const mock = await mockFor(t, { kind, slots: 1, queueSize: 5, keepAliveMs: 0, ttftMs: 300 });
    const held = [post(`${mock.url}/v1/chat/completions`, final), post(`${mock.url}/v1/chat/completions`, final)];
    // Bounded wait until both reached it: one runs, one waits.
    let load: EngineLoad | undefined;
    for (let i = 0; i < 100 && (load?.running !== 1 || load.waiting !== 1); i++) {
      const res = await fetch(`${mock.url}/metrics`);
      assert.equal(res.status, 200);
      const body = await res.text();
      assert.match(body, kind === 'vllm' ? /^vllm:num_requests_waiting\{/m : /^sglang:num_queue_reqs\{/m);
      load = parseEngineMetrics(body);
      if (load?.waiting !== 1) await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(load, { running: 1, waiting: 1, kvUsage: 1 });
    await Promise.all(held);
  }
  assert.equal((await fetch(`${(await mockFor(t, {})).url}/metrics`)).status, 404, 'no engine, no /metrics');
});
