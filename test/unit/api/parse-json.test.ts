import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_JSON_DEPTH, nestingExceeds, parseClientJson } from '../../../src/api/parse-json.ts';
import { parseCall } from '../../../src/api/parse-call.ts';
import { SpillwayError } from '../../../src/errors.ts';
import { cacheKey } from '../../../src/cache/cache-key.ts';
import { estimateTokens, IMAGE_TOKENS } from '../../../src/admission/estimate-tokens.ts';
import { parseBatchLine } from '../../../src/jobs/api/batch-line.ts';

const nested = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);

test('nesting depth: brackets inside strings and escaped quotes do not count; the limit itself is allowed', () => {
  const cases: [string, number, boolean][] = [
    ['{}', 1, false],
    [nested(3), 2, true],
    [nested(3), 3, false],
    ['{"a":[{"b":[1]}]}', 4, false],
    ['{"a":[{"b":[1]}]}', 3, true],
    [`["${'['.repeat(50)}"]`, 2, false],
    [`["\\"${'['.repeat(50)}"]`, 2, false],
    [`["\\\\",${nested(3)}]`, 3, true],
    [`{"x":"${'{'.repeat(500)}","y":${nested(5, '{"a":', '}')}}`, 6, false],
  ];
  for (const [json, max, want] of cases)
    assert.equal(nestingExceeds(Buffer.from(json), max), want, `${json.slice(0, 40)} / ${max}`);
});

test('a body nested deeper than the limit is refused with invalid_request naming the limit', () => {
  const body = `{"model":"m","messages":[{"role":"user","content":"hi"}],"x":${nested(MAX_JSON_DEPTH + 10)}}`;
  assert.throws(
    () => parseCall('chat', Buffer.from(body)),
    (e: unknown) =>
      e instanceof SpillwayError && e.code === 'invalid_request' && e.message.includes(String(MAX_JSON_DEPTH)),
  );
  const deep = nested(1_000_000);
  assert.throws(
    () => parseClientJson(deep, 'The body'),
    (e: unknown) => e instanceof SpillwayError && e.status === 400,
  );
  const ok = `{"model":"m","messages":[{"role":"user","content":"hi"}],"x":${nested(MAX_JSON_DEPTH - 3)}}`;
  assert.equal(parseCall('chat', Buffer.from(ok)).model, 'm');
  assert.throws(
    () => parseClientJson('{"a":', 'The body'),
    (e: unknown) => e instanceof SpillwayError && e.code === 'invalid_json',
  );
});

test('a batch line nested deeper than the limit fails that line, naming it', () => {
  const line = `{"custom_id":"1","method":"POST","url":"/v1/chat/completions","body":{"model":"m","x":${nested(MAX_JSON_DEPTH + 1)}}}`;
  assert.throws(
    () => parseBatchLine(line, 7, '/v1/chat/completions'),
    (e: unknown) => e instanceof SpillwayError && e.code === 'invalid_batch_line' && e.param === 'line 7',
  );
});

test('the cache key of a body at the depth limit is computed, and one deeper than the stack allows is a 400, not a crash', () => {
  const atLimit = JSON.parse(`{"messages":[],"x":${nested(MAX_JSON_DEPTH - 2)}}`) as Record<string, unknown>;
  assert.equal(typeof cacheKey('chat', 'm', atLimit), 'string');
  let deep: unknown = 1;
  for (let i = 0; i < 200_000; i++) deep = [deep];
  assert.throws(
    () => cacheKey('chat', 'm', { x: deep }),
    (e: unknown) => e instanceof SpillwayError && e.status === 400,
  );
});

test('token estimate counts token-id prompts, tools, tool-call arguments and images', () => {
  const cases: [string, Record<string, unknown>, number][] = [
    ['token ids', { prompt: Array.from({ length: 500 }, (_, i) => i), max_tokens: 1 }, 501],
    [
      'batched token ids',
      {
        prompt: [
          [1, 2, 3],
          [4, 5],
        ],
        max_tokens: 1,
      },
      6,
    ],
    [
      'embedding token ids',
      {
        input: [
          [1, 2],
          [3, 4, 5, 6],
        ],
      },
      6,
    ],
    [
      'tools',
      {
        messages: [{ role: 'user', content: '' }],
        tools: [{ type: 'function', function: { name: 'f', parameters: { description: 'x'.repeat(400) } } }],
        max_tokens: 1,
      },
      1 +
        Math.ceil(
          JSON.stringify([{ type: 'function', function: { name: 'f', parameters: { description: 'x'.repeat(400) } } }])
            .length / 4,
        ),
    ],
    [
      'tool call arguments',
      {
        messages: [
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'ab', arguments: 'x'.repeat(398) } }],
          },
        ],
        max_tokens: 1,
      },
      101,
    ],
    [
      'image, high detail',
      {
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(100_000)}` } }],
          },
        ],
        max_tokens: 1,
      },
      IMAGE_TOKENS.high + 1,
    ],
    [
      'image, low detail',
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'abcd' },
              { type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'low' } },
            ],
          },
        ],
        max_tokens: 1,
      },
      1 + IMAGE_TOKENS.low + 1,
    ],
  ];
  for (const [name, body, want] of cases) assert.equal(estimateTokens(body), want, name);
});

test('token estimate survives a hostile body shape without recursion', () => {
  let deep: unknown = 'abcd';
  for (let i = 0; i < 200_000; i++) deep = [deep];
  assert.equal(estimateTokens({ prompt: deep, max_tokens: 1 }), 2);
});
