import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskSecrets } from '../../../src/config/mask.ts';

test('masking hides keys, every header value and URL passwords, and leaves the rest as it is', () => {
  const shown = maskSecrets({
    upstreams: [
      {
        name: 'a',
        url: 'https://api.example.com/v1',
        api_key: 'sk-abcdefghijklmnopqrstuvwxyz',
        headers: { 'x-honeycomb-team': 'hc-secret', 'x-plain': 'also hidden' },
      },
    ],
    tracing: { otlp_endpoint: 'http://collector:4318', headers: { authorization: 'Bearer t' } },
    state: { redis: { url: 'redis://:hunter2@redis:6379/0', prefix: '' } },
    cache: { redis: { url: 'rediss://user:pa55@cache:6380' } },
    admin: { key: null },
  }) as {
    upstreams: { api_key: string; url: string; headers: Record<string, string> }[];
    tracing: { headers: Record<string, string> };
    state: { redis: { url: string } };
    cache: { redis: { url: string } };
    admin: { key: string | null };
  };
  const u = shown.upstreams[0];
  assert.equal(u?.api_key, '****wxyz');
  assert.deepEqual(u?.headers, { 'x-honeycomb-team': '****', 'x-plain': '****' });
  assert.equal(u?.url, 'https://api.example.com/v1');
  assert.deepEqual(shown.tracing.headers, { authorization: '****' });
  assert.equal(shown.state.redis.url, 'redis://:****@redis:6379/0');
  assert.equal(shown.cache.redis.url, 'rediss://user:****@cache:6380');
  assert.equal(shown.admin.key, null);
  assert.ok(
    !JSON.stringify(shown).includes('hunter2') &&
      !JSON.stringify(shown).includes('hc-secret') &&
      !JSON.stringify(shown).includes('pa55'),
  );
});
