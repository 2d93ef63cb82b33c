import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamAssembler, isCompleteAnswer } from '../../../src/cache/assemble-stream.ts';
import { replayAsStream } from '../../../src/cache/replay-stream.ts';
import { landedAnswer } from '../../../src/cache/landed-answer.ts';

const head = { id: 'c1', created: 7, model: 'chat' };
const usage = { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 };

/** Non-stream answers that must survive replay as a stream and assembly back. */
const ANSWERS: { name: string; answer: Record<string, unknown> }[] = [
  {
    name: 'plain content',
    answer: {
      ...head,
      object: 'chat.completion',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Hello there' }, logprobs: null, finish_reason: 'stop' },
      ],
      usage,
    },
  },
  {
    name: 'reasoning_content (DeepSeek reasoner)',
    answer: {
      ...head,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: '42', reasoning_content: 'Think: 6*7' },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage,
    },
  },
  {
    name: 'tool calls, content null',
    answer: {
      ...head,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
              { id: 'call_2', type: 'function', function: { name: 'g', arguments: '{}' } },
            ],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage,
    },
  },
  {
    name: 'two choices (n=2)',
    answer: {
      ...head,
      object: 'chat.completion',
      choices: [0, 1].map((i) => ({
        index: i,
        message: { role: 'assistant', content: `answer ${i}` },
        logprobs: null,
        finish_reason: 'length',
      })),
      usage,
    },
  },
  {
    name: 'legacy completions text',
    answer: {
      ...head,
      object: 'text_completion',
      choices: [{ index: 0, text: 'once upon', logprobs: null, finish_reason: 'length' }],
      usage,
    },
  },
];

function assemble(sse: string): { answer: Record<string, unknown> | undefined; done: boolean } {
  const asm = new StreamAssembler();
  let done = false;
  for (const ev of sse.split('\n\n')) {
    if (ev === '') continue;
    assert.ok(ev.startsWith('data: '), ev);
    const data = ev.slice(6);
    if (data === '[DONE]') done = true;
    else asm.add(data);
  }
  return { answer: asm.answer(), done };
}

for (const c of ANSWERS) {
  test(`replay and assembly round-trip: ${c.name}`, () => {
    const sse = replayAsStream(c.answer, true);
    const { answer, done } = assemble(sse);
    assert.ok(done, 'ends with [DONE]');
    assert.deepEqual(answer, c.answer);
    assert.ok(isCompleteAnswer(answer));
  });
}

test('replay: a role chunk opens each chat choice; usage only when asked, in a chunk with no choices', () => {
  const a = ANSWERS[0]!.answer;
  const without = replayAsStream(a, false)
    .split('\n\n')
    .filter((e) => e !== '');
  const first = JSON.parse(without[0]!.slice(6)) as { object: string; choices: { delta: { role: string } }[] };
  assert.equal(first.object, 'chat.completion.chunk');
  assert.equal(first.choices[0]?.delta.role, 'assistant');
  assert.ok(!without.some((e) => e.includes('"usage"')));
  const withUsage = replayAsStream(a, true)
    .split('\n\n')
    .filter((e) => e !== '');
  const u = JSON.parse(withUsage[withUsage.length - 2]!.slice(6)) as { choices: unknown[]; usage: unknown };
  assert.deepEqual(u, { ...head, object: 'chat.completion.chunk', choices: [], usage });
});

test('assembly merges tool-call pieces by index, as upstreams stream them', () => {
  const asm = new StreamAssembler();
  const c = (delta: unknown, finish: string | null = null) =>
    JSON.stringify({ ...head, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] });
  asm.add(
    c({
      role: 'assistant',
      content: null,
      tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_', arguments: '' } }],
    }),
  );
  asm.add(c({ tool_calls: [{ index: 0, function: { name: 'weather', arguments: '{"city":' } }] }));
  asm.add(c({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }));
  asm.add(c({}, 'tool_calls'));
  const msg = (asm.answer()?.choices as { message: { tool_calls: unknown; content: unknown } }[])[0]?.message;
  assert.deepEqual(msg?.tool_calls, [
    { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
  ]);
  assert.equal(msg?.content, null);
});

const chunk = (delta: unknown, finish: string | null = null) =>
  `data: ${JSON.stringify({ ...head, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const LANDINGS: { name: string; body: string; status?: number; stored: boolean }[] = [
  {
    name: 'a complete stream',
    body: `: keep-alive\n\n${chunk({ role: 'assistant', content: '' })}${chunk({ content: 'hi' })}${chunk({}, 'stop')}data: [DONE]\n\n`,
    stored: true,
  },
  { name: 'a stream without [DONE]', body: `${chunk({ content: 'hi' })}${chunk({}, 'stop')}`, stored: false },
  { name: 'a stream without finish_reason', body: `${chunk({ content: 'hi' })}data: [DONE]\n\n`, stored: false },
  {
    name: 'a stream ended by an in-band error',
    body: `${chunk({ content: 'hi' })}data: {"error":{"message":"cut","code":"stream_interrupted"}}\n\n`,
    stored: false,
  },
  {
    name: 'a stream with a status other than 200',
    body: `${chunk({ content: 'hi' })}${chunk({}, 'stop')}data: [DONE]\n\n`,
    status: 206,
    stored: false,
  },
];

for (const c of LANDINGS) {
  test(`only complete answers are stored: ${c.name}`, () => {
    assert.equal(landedAnswer(c.status ?? 200, c.body, true) !== undefined, c.stored);
  });
}

test('only complete answers are stored: non-stream JSON', () => {
  const ok = JSON.stringify(ANSWERS[0]!.answer);
  assert.deepEqual(landedAnswer(200, ok, false), { body: ok, usage: true });
  assert.equal(landedAnswer(200, '{"error":{"message":"x"}}', false), undefined);
  assert.equal(
    landedAnswer(
      200,
      JSON.stringify({ ...head, choices: [{ index: 0, message: { content: 'x' }, finish_reason: null }] }),
      false,
    ),
    undefined,
  );
  assert.equal(landedAnswer(200, '{"choices": [', false), undefined);
});
