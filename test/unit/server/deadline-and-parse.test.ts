import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestDeadlineMs, sdkRetryCount } from '../../../src/server/deadline.ts';
import { parseCall } from '../../../src/api/parse-call.ts';
import { matchEndpoint } from '../../../src/api/endpoints.ts';
import { SpillwayError } from '../../../src/errors.ts';

test('the deadline comes from x-spillway-deadline-ms, else x-stainless-timeout, else the default', () => {
  // A client's own timeout keeps 2% (at most 1 s) back, so the gateway's answer arrives before the client gives up.
  assert.equal(requestDeadlineMs({ 'x-spillway-deadline-ms': '2500', 'x-stainless-timeout': '60' }, 9000), 2450);
  assert.equal(requestDeadlineMs({ 'x-stainless-timeout': '600' }, 9000), 599_000);
  assert.equal(requestDeadlineMs({ 'x-stainless-timeout': '30' }, 9000), 29_400);
  assert.equal(requestDeadlineMs({ 'x-stainless-timeout': 'abc' }, 9000), 9000);
  assert.equal(requestDeadlineMs({ 'x-spillway-deadline-ms': '-5' }, 9000), 9000);
  assert.equal(requestDeadlineMs({}, 9000), 9000);
});

test('the SDK try a request is comes from x-stainless-retry-count; absent or empty, the client never retries at our hint', () => {
  const rows: [header: string | undefined, count: number | undefined][] = [
    [undefined, undefined],
    ['', undefined],
    ['0', 0],
    ['1', 1],
    ['abc', NaN],
  ];
  for (const [header, count] of rows)
    assert.equal(sdkRetryCount(header === undefined ? {} : { 'x-stainless-retry-count': header }), count, header);
});

test('endpoints are served with and without /v1', () => {
  assert.deepEqual(matchEndpoint('POST', '/v1/chat/completions'), { endpoint: 'chat' });
  assert.deepEqual(matchEndpoint('POST', '/chat/completions?x=1'), { endpoint: 'chat' });
  assert.deepEqual(matchEndpoint('GET', '/v1/models'), { endpoint: 'models' });
  assert.deepEqual(matchEndpoint('GET', '/v1/chat/completions'), { wrongMethod: 'POST' });
  assert.equal(matchEndpoint('POST', '/v2/chat'), undefined);
});

test('parseCall: refusals name the field and keep unknown fields untouched', () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof SpillwayError ? `${e.code}:${e.param ?? ''}` : 'other';
    }
    return 'none';
  };
  const b = (s: string) => Buffer.from(s);
  assert.equal(
    code(() => parseCall('chat', b('{'))),
    'invalid_json:',
  );
  assert.equal(
    code(() => parseCall('chat', b('[1]'))),
    'invalid_request:',
  );
  assert.equal(
    code(() => parseCall('chat', b('{"messages":[{"role":"user","content":"x"}]}'))),
    'invalid_request:model',
  );
  assert.equal(
    code(() => parseCall('chat', b('{"model":"m"}'))),
    'invalid_request:messages',
  );
  assert.equal(
    code(() => parseCall('chat', b('{"model":"m","messages":[]}'))),
    'invalid_request:messages',
  );
  assert.equal(
    code(() => parseCall('chat', b('{"model":"m","messages":[{}],"stream":"yes"}'))),
    'invalid_request:stream',
  );
  assert.equal(
    code(() => parseCall('completions', b('{"model":"m"}'))),
    'invalid_request:prompt',
  );
  assert.equal(
    code(() => parseCall('embeddings', b('{"model":"m"}'))),
    'invalid_request:input',
  );
  const call = parseCall(
    'chat',
    b(
      '{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"tools":[{"type":"function"}],"thinking":{"type":"enabled"}}',
    ),
  );
  assert.equal(call.stream, true);
  assert.deepEqual(call.body.thinking, { type: 'enabled' });
});
