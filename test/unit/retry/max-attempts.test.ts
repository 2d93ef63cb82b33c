import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../../src/config/load.ts';
import { maxAttempts } from '../../../src/retry/attempt.ts';
import type { RequestContext } from '../../../src/server/context.ts';

test("an SDK's own retries count against the attempts; a malformed or negative count buys none beyond the settings", () => {
  const config = resolveConfig(
    { upstreams: [{ name: 'a', url: 'http://a.invalid/v1' }], models: { chat: { routes: [{ upstream: 'a' }] } } },
    'test',
    {},
  );
  const rows: [header: string | undefined, attempts: number][] = [
    [undefined, 5],
    ['0', 5],
    ['1', 4],
    ['2', 3],
    ['9', 1],
    ['abc', 5],
    ['-100', 5],
  ];
  for (const [header, attempts] of rows) {
    const ctx = { req: { headers: header === undefined ? {} : { 'x-stainless-retry-count': header } } };
    assert.equal(maxAttempts(config, ctx as unknown as RequestContext), attempts, header);
  }
});
