import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFaults } from '../../../src/mock/faults.ts';

test('no mock field means no faults', () => {
  assert.deepEqual(parseFaults(undefined), { ok: true, faults: undefined });
});

test('snake_case fields become fault settings', () => {
  assert.deepEqual(
    parseFaults({
      status: 503,
      retry_after_s: 2,
      reset_after_tokens: 3,
      stall_after_headers: true,
      blank_lines_before: 4,
    }),
    {
      ok: true,
      faults: { status: 503, retryAfterS: 2, resetAfterTokens: 3, stallAfterHeaders: true, blankLinesBefore: 4 },
    },
  );
});

test('unknown fields, wrong types and non-error statuses are refused with a message naming the field', () => {
  const bad = [
    [{ stall_after_token: 1 }, /unknown mock field "stall_after_token"/],
    [{ reset_before_headers: 1 }, /reset_before_headers must be true or false/],
    [{ ttft_ms: -1 }, /ttft_ms must be a non-negative integer/],
    [{ status: 200 }, /status must be an HTTP error status/],
    ['x', /must be an object/],
  ] as const;
  for (const [raw, message] of bad) {
    const r = parseFaults(raw);
    assert.equal(r.ok, false, JSON.stringify(raw));
    if (!r.ok) assert.match(r.message, message);
  }
});
