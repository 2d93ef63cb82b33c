import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorFromUpstreamStatus } from '../../../src/relay/upstream-error.ts';

test('upstream statuses map to stable codes; client errors keep the upstream message', () => {
  const body = JSON.stringify({
    error: {
      message: 'This model maximum context length is 65536 tokens',
      type: 'invalid_request_error',
      code: 'context_length_exceeded',
      param: 'messages',
    },
  });
  const cases: [number, string, number][] = [
    [429, 'rate_limited', 429],
    [503, 'overloaded', 503],
    [401, 'upstream_auth_failed', 502],
    [403, 'upstream_auth_failed', 502],
    [500, 'upstream_error', 502],
    [504, 'upstream_timeout', 504],
    [400, 'upstream_rejected', 400],
    [422, 'upstream_rejected', 422],
  ];
  for (const [status, code, want] of cases) {
    const e = errorFromUpstreamStatus(status, body, 2000, 'up');
    assert.equal(e.code, code, String(status));
    assert.equal(e.status, want, String(status));
  }
  const rejected = errorFromUpstreamStatus(400, body, undefined, 'up');
  assert.equal(rejected.message, 'This model maximum context length is 65536 tokens');
  assert.equal(rejected.upstreamCode, 'context_length_exceeded');
  assert.equal(rejected.param, 'messages');
  assert.equal(errorFromUpstreamStatus(429, '', 2500, 'up').retryAfterS, 3);
  assert.doesNotMatch(
    errorFromUpstreamStatus(401, '{"error":{"message":"bad key sk-123"}}', undefined, 'up').message,
    /sk-123/,
  );
});
