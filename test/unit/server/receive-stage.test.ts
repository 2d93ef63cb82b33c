import { test } from 'node:test';
import assert from 'node:assert/strict';
import { receiveStage } from '../../../src/server/receive-stage.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import { SpillwayError } from '../../../src/errors.ts';
import type { RequestContext } from '../../../src/server/context.ts';

const config = resolveConfig(
  { upstreams: [{ name: 'a', url: 'http://127.0.0.1:1' }], models: { m: { routes: [{ upstream: 'a' }] } } },
  't',
  {},
);

test('while draining, a new request is refused with 503 draining, Retry-After and connection: close', async () => {
  const headers: Record<string, string> = {};
  const ctx = {
    req: { method: 'POST', headers: {} },
    res: {
      setHeader: (k: string, v: string) => {
        headers[k] = v;
      },
    },
    settled: false,
  } as unknown as RequestContext;
  let nextCalled = false;
  await assert.rejects(
    receiveStage(config, () => true).run(ctx, async () => {
      nextCalled = true;
    }),
    (e: unknown) => {
      assert.ok(e instanceof SpillwayError);
      assert.equal(e.code, 'draining');
      assert.equal(e.status, 503);
      assert.equal(e.retryAfterS, 1);
      return true;
    },
  );
  assert.equal(headers.connection, 'close');
  assert.equal(nextCalled, false);
});
