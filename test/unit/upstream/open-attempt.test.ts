import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { realClock } from '../../../src/clock.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import { UpstreamPools } from '../../../src/upstream/pools.ts';
import { AttemptError, openAttempt, type AttemptRequest } from '../../../src/upstream/open-attempt.ts';

/** A pool in front of `url`, and an attempt request for it with the client's signal `gone`. */
function setup(url: string, gone: AbortSignal): { pools: UpstreamPools; request: AttemptRequest } {
  const config = resolveConfig(
    { upstreams: [{ name: 'u', url: `${url}/v1` }], models: { chat: { routes: [{ upstream: 'u' }] } } },
    'test',
    {},
  );
  const upstream = config.upstreams[0];
  if (upstream === undefined) throw new Error('no upstream');
  const pools = new UpstreamPools(config.upstreams);
  return {
    pools,
    request: {
      upstream,
      apiKey: undefined,
      path: '/chat/completions',
      body: '{}',
      requestId: 'r1',
      deadlineAt: Date.now() + 10_000,
      timeouts: { firstTokenMs: 5_000, idleMs: 5_000 },
      clientGone: gone,
    },
  };
}

test("openAttempt resolves once with the head; close() is idempotent, stops the timer and lets go of the client's signal", async (t) => {
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const gone = new AbortController();
  const { pools, request } = setup(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, gone.signal);
  t.after(() => pools.close());
  const att = await openAttempt(pools, realClock, request);
  assert.equal(att.status, 200);
  assert.equal(getEventListeners(gone.signal, 'abort').length, 1, 'listening for the client while the attempt is open');
  let text = '';
  for await (const c of att.body) text += String(c);
  assert.equal(text, '{"ok":true}');
  att.close();
  att.close(); // a second close is a no-op
  assert.equal(getEventListeners(gone.signal, 'abort').length, 0, 'detached from the client');
  gone.abort();
  assert.equal(att.timeoutPhase(), undefined, 'no timer fired after close, and the client leaving changes nothing');
});

test('openAttempt rejects once, with an AttemptError, when the upstream cannot be reached; nothing stays attached', async (t) => {
  const gone = new AbortController();
  // Port 9 (discard) on loopback: nothing listens there, the connection is refused at once.
  const { pools, request } = setup('http://127.0.0.1:9', gone.signal);
  t.after(() => pools.close());
  await assert.rejects(
    openAttempt(pools, realClock, request),
    (e: unknown) => e instanceof AttemptError && e.timeoutPhase === undefined && !e.clientGone,
  );
  assert.equal(getEventListeners(gone.signal, 'abort').length, 0);
});
