import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import type { Arrival } from '../../src/storm/arrivals.ts';
import { sendArrival } from '../../src/storm/client.ts';
import { mockFor } from '../helpers/mock.ts';

const arrival = (index: number, stream = false): Arrival => ({
  index,
  atMs: 0,
  stream,
  maxTokens: 4,
  priority: 'low',
  model: 'chat',
  prompt: `p${index}`,
  pick: 0,
});

test('the storm client sends the SDK timeout header and the priority, and records a whole answer as complete', async (t) => {
  const mock = await mockFor(t, { ttftMs: 5, tokenMs: 1 });
  const agent = new Agent();
  t.after(() => agent.close());
  const r = await sendArrival(agent, { baseUrl: `${mock.url}/v1` }, arrival(1, true), {
    deadlineS: 30,
    answerSeed: 1,
    t0: performance.now(),
  });
  const headers = mock.stats().lastRequest?.headers ?? {};
  assert.equal(headers['x-stainless-timeout'], '30');
  assert.equal(headers['x-spillway-priority'], 'low');
  assert.equal(headers['x-spillway-deadline-ms'], undefined);
  assert.equal(r.complete, true);
  assert.equal(r.status, 200);
  assert.ok((r.endMs ?? 0) >= (r.arrivalMs ?? Infinity));
  const both = await sendArrival(agent, { baseUrl: `${mock.url}/v1` }, arrival(2), {
    deadlineS: 2,
    answerSeed: 1,
    t0: 0,
    client: { deadlineHeader: 'spillway', sdkRetries: false },
  });
  assert.equal(both.complete, true);
  assert.equal(mock.stats().lastRequest?.headers['x-spillway-deadline-ms'], '2000');
  assert.equal(mock.stats().lastRequest?.headers['x-stainless-timeout'], undefined);
});

test('an SDK-like client retries a 429 once at its Retry-After and records whether the retry got the answer', async (t) => {
  // One slot, no queue: of two requests at once, one is refused with 429 and Retry-After: 1, then fits.
  const mock = await mockFor(t, { slots: 1, queueSize: 0, reject: 429, retryAfterS: 1, ttftMs: 200 });
  const agent = new Agent();
  t.after(() => agent.close());
  const client = { deadlineHeader: 'stainless' as const, sdkRetries: true };
  const rs = await Promise.all(
    [1, 2].map((i) =>
      sendArrival(agent, { baseUrl: `${mock.url}/v1` }, arrival(i), { deadlineS: 10, answerSeed: 1, t0: 0, client }),
    ),
  );
  const retried = rs.find((r) => r.retry !== undefined);
  assert.ok(retried !== undefined, 'one request was refused and retried');
  assert.deepEqual(retried.retry, { afterS: 1, ok: true, status: 200 });
  assert.equal(retried.complete, true);
  assert.equal(retried.upstreamBusy, true, 'the first answer was an upstream busy');
  assert.ok((retried.refusalMs ?? Infinity) < 1000 && retried.latencyMs >= 1000);
  assert.ok((retried.ttftMs ?? 0) >= 1000, 'time to first token counts from the first send, the wait included');
  assert.equal(mock.stats().lastRequest?.headers['x-stainless-retry-count'], '1');
});
