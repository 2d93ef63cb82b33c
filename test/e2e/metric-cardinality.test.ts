import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../helpers/stack.ts';

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/** The series (name and labels) that carry a model label: the ones a client's model string could multiply. */
function modelSeries(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .filter((l) => l.startsWith('spillway_') && l.includes('model="'))
      .map((l) => l.replace(/ [^ ]+$/, '')),
  );
}

/** Sends `n` chat requests, each with a fresh random model name, `parallel` at a time (bounded). */
async function randomModels(url: string, n: number, headers: Record<string, string>): Promise<Set<number>> {
  const statuses = new Set<number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const model = `m-${i}-${Math.random().toString(36).slice(2)}`;
      const r = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      });
      statuses.add(r.status);
      await r.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return statuses;
}

test('1,500 requests with random model names leave the /metrics size and series count bounded', async (t) => {
  const { gw } = await startStack(t, {
    config: (urls) => ({
      upstreams: [{ name: 'mock0', url: `${urls[0]}/v1` }],
      models: { chat: { routes: [{ upstream: 'mock0', model: 'chat' }] } },
      auth: { keys: [{ key: 'sk-test-key-1234', tenant: 'a' }] },
      tenants: { a: {} },
    }),
  });
  // One known-model request first, so the labels that should exist do.
  const ok = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test-key-1234' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(ok.status, 200);
  await randomModels(gw.url, 10, {});
  await randomModels(gw.url, 10, { authorization: 'Bearer sk-test-key-1234' });
  const before = await scrape(gw.url);
  const unauthenticated = await randomModels(gw.url, 750, {});
  const authenticated = await randomModels(gw.url, 750, { authorization: 'Bearer sk-test-key-1234' });
  assert.deepEqual([...unauthenticated], [401]);
  assert.deepEqual([...authenticated], [404]);
  const after = await scrape(gw.url);
  const added = [...modelSeries(after)].filter((x) => !modelSeries(before).has(x));
  assert.deepEqual(added, [], 'no new series with a model label');
  // The size is compared without the runtime's own families (prom-client's process and Node metrics): their series
  // appear as the process lives (a GC kind's histogram with its first collection of that kind, ~650 bytes each),
  // whatever the clients send — under a loaded machine that alone crossed the margin.
  const own = (text: string): number =>
    text
      .split('\n')
      .filter((l) => !/^(# (HELP|TYPE) )?spillway_(process|nodejs)_/.test(l))
      .join('\n').length;
  assert.ok(
    own(after) < own(before) + 2_000,
    `/metrics (Spillway's own families) grew from ${own(before)} to ${own(after)} bytes`,
  );
  assert.doesNotMatch(after, /m-\d+-/);
  assert.match(after, /spillway_requests_total\{model="other",upstream="",status="401",code="unauthorized"\} 760/);
});
