import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixedUpstream, startStack } from '../helpers/stack.ts';
import { jobsConfig, pollUntil, tempDataDir } from '../helpers/jobs.ts';

const ANSWER =
  '{"id":"x","object":"chat.completion","model":"chat","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}';

test('job items never take a slot an interactive request is waiting for: waiting interactive requests are served first', async (t) => {
  const dir = tempDataDir(t);
  const order: string[] = [];
  // A slow upstream (the slowness is the upstream's behaviour, not a wait in the test) that records arrivals.
  const upstream = await fixedUpstream(t, (_req, res, body) => {
    order.push((JSON.parse(body) as { messages: { content: string }[] }).messages[0]?.content ?? '');
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(ANSWER), 150);
  });
  const { gw } = await startStack(t, {
    config: () =>
      jobsConfig(
        [upstream.url],
        { data_dir: dir, spare_percent: 100, headroom_window: '1s' },
        {
          upstreams: [{ name: 'mock0', url: upstream.url, max_concurrency: 2 }],
          adaptive_concurrency: { enabled: false },
        },
      ),
  });
  for (let i = 0; i < 12; i++) {
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: `bg${i}` }] }),
    });
    assert.equal(r.status, 202);
  }
  // Background work fills both slots first...
  await pollUntil(
    async () => order.length,
    (n) => n >= 2,
    200,
    10,
  );
  const started = order.length;
  // ...then interactive requests arrive and must wait for a slot.
  const interactive = await Promise.all(
    [0, 1, 2, 3].map((i) =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: `fg${i}` }] }),
      }),
    ),
  );
  assert.deepEqual(
    interactive.map((r) => r.status),
    [200, 200, 200, 200],
  );
  const firstFg = order.findIndex((p) => p.startsWith('fg'));
  const lastFg = order.findLastIndex((p) => p.startsWith('fg'));
  assert.ok(firstFg >= started, 'the interactive requests waited for slots held by background items');
  const between = order.slice(firstFg, lastFg + 1).filter((p) => p.startsWith('bg'));
  // Between the first and the last interactive request reaching the upstream, every freed slot went to them.
  assert.deepEqual(
    between,
    [],
    `no background item started while interactive requests waited (arrivals: ${order.join(',')})`,
  );
  const done = await pollUntil(
    async () => (await (await fetch(`${gw.url}/admin/jobs`)).json()) as { items: { done: number } },
    (s) => s.items.done === 12,
  );
  assert.equal(done.items.done, 12, 'the background work still completes afterwards');
});
