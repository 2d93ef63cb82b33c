import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statedConcurrencyLimit } from '../../../src/upstream/stated-limit.ts';
import { classifyStatus } from '../../../src/upstream/classify.ts';

test('the concurrency limit a 429 body names is read; anything else is not a limit', () => {
  const rows: [string, number | undefined][] = [
    [
      '{"error":{"message":"Request concurrency exceeds your concurrency limit of 39 based on your remaining balance","type":"rate_limit_error"}}',
      39,
    ],
    ['exceeds your concurrency limit of 500', 500],
    ['Concurrency limit: 8', 8],
    ['concurrent request limit is 12', 12],
    ['{"error":{"message":"超出并发上限 20,请稍后重试"}}', 20],
    ['Rate limit reached: 60 requests per minute', undefined],
    ['{"error":{"message":"Rate limit exceeded"}}', undefined],
    ['', undefined],
    ['concurrency limit of 0', undefined],
    ['concurrency limit of 9999999', undefined],
    ['not json at all {{{', undefined],
  ];
  for (const [body, want] of rows) assert.equal(statedConcurrencyLimit(body), want, body);
});

test("classifyStatus carries a 429's stated limit and classifies 402 as insufficient balance", () => {
  assert.deepEqual(classifyStatus(429, 1000, 'exceeds your concurrency limit of 39 based on your remaining balance'), {
    kind: 'rate_limited',
    retryAfterMs: 1000,
    limit: 39,
  });
  assert.deepEqual(classifyStatus(429, undefined, 'slow down'), { kind: 'rate_limited', retryAfterMs: undefined });
  assert.deepEqual(classifyStatus(402, undefined, '{"error":{"message":"Insufficient Balance"}}'), {
    kind: 'insufficient_balance',
    status: 402,
  });
  assert.equal(
    classifyStatus(503, undefined, 'concurrency limit of 3').kind,
    'overloaded',
    'only a 429 states an account limit',
  );
});
