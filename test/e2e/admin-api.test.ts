import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from '../helpers/stack.ts';

const withAdminKey = (urls: string[]) => ({
  admin: { key: 'admin-secret-123456' },
  upstreams: urls.map((url, i) => ({ name: `mock${i}`, url, api_key: 'sk-upstream-secret-abcdef' })),
  models: { chat: { routes: urls.map((_, i) => ({ upstream: `mock${i}` })) } },
});

test('the admin API refuses requests without the admin key and answers with it', async (t) => {
  const { gw } = await startStack(t, { config: withAdminKey });
  const denied = await fetch(`${gw.url}/admin/config`);
  assert.equal(denied.status, 401);
  assert.equal(((await denied.json()) as { error: { code: string } }).error.code, 'unauthorized');
  const wrong = await fetch(`${gw.url}/admin/config`, { headers: { authorization: 'Bearer not-the-key-000' } });
  assert.equal(wrong.status, 401);
  const ok = await fetch(`${gw.url}/admin/config`, { headers: { authorization: 'Bearer admin-secret-123456' } });
  assert.equal(ok.status, 200);
  const text = await ok.text();
  assert.ok(!text.includes('sk-upstream-secret-abcdef'), 'upstream keys are masked');
  assert.ok(!text.includes('admin-secret-123456'), 'the admin key is masked');
  assert.equal((JSON.parse(text) as { upstreams: unknown[] }).upstreams.length, 1);
});

test('unknown admin paths are 404 and wrong methods 405, in the OpenAI error shape', async (t) => {
  const { gw } = await startStack(t);
  const missing = await fetch(`${gw.url}/admin/nope`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
  const wrongMethod = await fetch(`${gw.url}/admin/config`, { method: 'POST' });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'GET');
});

const twoMocks = (urls: string[]) => ({
  upstreams: urls.map((url, i) => ({ name: `mock${i}`, url: `${url}/v1` })),
  models: { chat: { routes: urls.map((_, i) => ({ upstream: `mock${i}` })) } },
});

async function chat(url: string, content = 'hi'): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content }] }),
  });
}

interface UpstreamView {
  name: string;
  drained: boolean;
  health: string;
  inFlight: number;
  cap: number;
  accounts: unknown[];
}

test('a drained upstream gets no new requests, shows as drained, and comes back when undrained', async (t) => {
  const { gw } = await startStack(t, { mocks: [{}, {}], config: twoMocks });
  const drain = await fetch(`${gw.url}/admin/upstreams/mock0/drain`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(drain.status, 200);
  assert.equal(((await drain.json()) as UpstreamView).drained, true);
  for (let i = 0; i < 12; i++) {
    const r = await chat(gw.url);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-spillway-upstream'), 'mock1', 'the drained upstream is passed over');
    await r.text();
  }
  const list = (await (await fetch(`${gw.url}/admin/upstreams`)).json()) as { upstreams: UpstreamView[] };
  assert.deepEqual(
    list.upstreams.map((u) => [u.name, u.drained, u.health]),
    [
      ['mock0', true, 'healthy'],
      ['mock1', false, 'healthy'],
    ],
  );
  assert.match(await (await fetch(`${gw.url}/metrics`)).text(), /spillway_upstream_drained\{upstream="mock0"\} 1/);
  assert.equal(
    (
      await fetch(`${gw.url}/admin/upstreams/mock0/undrain`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      })
    ).status,
    200,
  );
  const seen = new Set<string>();
  for (let i = 0; i < 40 && !seen.has('mock0'); i++) {
    const r = await chat(gw.url);
    seen.add(r.headers.get('x-spillway-upstream') ?? '');
    await r.text();
  }
  assert.ok(seen.has('mock0'), 'the undrained upstream serves again');
  assert.match(await (await fetch(`${gw.url}/metrics`)).text(), /spillway_upstream_drained\{upstream="mock0"\} 0/);
  const unknown = await fetch(`${gw.url}/admin/upstreams/nope/drain`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(unknown.status, 404);
  assert.match(
    ((await unknown.json()) as { error: { message: string } }).error.message,
    /No upstream named 'nope' \(configured: mock0, mock1\)/,
  );
});

test('draining the only upstream lets its in-flight stream finish and refuses new requests at once', async (t) => {
  const { gw, client } = await startStack(t, { mocks: [{ ttftMs: 20, tokenMs: 20 }] });
  const stream = await client.chat.completions.create({
    model: 'chat',
    messages: [{ role: 'user', content: 'long' }],
    max_tokens: 15,
    stream: true,
  });
  const it = stream[Symbol.asyncIterator]();
  const first = await it.next(); // the stream is in flight on mock0
  assert.equal(first.done, false);
  assert.equal(
    (
      await fetch(`${gw.url}/admin/upstreams/mock0/drain`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      })
    ).status,
    200,
  );
  const refused = await chat(gw.url);
  assert.equal(refused.status, 503);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'no_capacity');
  let finish: string | null | undefined;
  for (let n = await it.next(); n.done !== true; n = await it.next()) finish ??= n.value.choices[0]?.finish_reason;
  assert.equal(finish, 'length', 'the in-flight stream finished normally');
});

test('GET /admin/requests lists the last requests newest first, with filters', async (t) => {
  const { gw } = await startStack(t);
  for (let i = 0; i < 3; i++) await (await chat(gw.url, `n${i}`)).text();
  await (
    await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    })
  ).text();
  const all = (await (await fetch(`${gw.url}/admin/requests`)).json()) as {
    capacity: number;
    requests: { status: number; code: string; upstream?: string; attempts: number; ms: number; requestId: string }[];
  };
  assert.equal(all.capacity, 500);
  assert.equal(all.requests.length, 4);
  assert.equal(all.requests[0]?.code, 'model_not_found', 'newest first');
  assert.deepEqual(
    all.requests.slice(1).map((r) => [r.status, r.upstream, r.attempts]),
    [
      [200, 'mock0', 1],
      [200, 'mock0', 1],
      [200, 'mock0', 1],
    ],
  );
  const errors = (await (await fetch(`${gw.url}/admin/requests?errors=true`)).json()) as { requests: unknown[] };
  assert.equal(errors.requests.length, 1);
  const two = (await (await fetch(`${gw.url}/admin/requests?limit=2&upstream=mock0`)).json()) as {
    requests: unknown[];
  };
  assert.equal(two.requests.length, 2);
  const bad = await fetch(`${gw.url}/admin/requests?limit=0`);
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { error: { param: string } }).error.param, 'limit');
});

test('GET /admin/stats and its SSE stream report live rates, upstreams, forecast and every metric family', async (t) => {
  const { gw } = await startStack(t);
  for (let i = 0; i < 5; i++) await (await chat(gw.url)).text();
  await gw.stats.sample();
  const frame = (await (await fetch(`${gw.url}/admin/stats`)).json()) as {
    point: { rps: number; ok: number };
    upstreams: UpstreamView[];
    families: { name: string; type: string }[];
    forecast: { horizonS: number; demandRps: number | null; capacityRps: number | null };
    recent: unknown[];
  };
  assert.ok(frame.point.ok > 0, `ok rate ${frame.point.ok}`);
  assert.equal(frame.upstreams[0]?.name, 'mock0');
  assert.ok(frame.families.some((f) => f.name === 'spillway_requests_total' && f.type === 'counter'));
  assert.ok(frame.families.some((f) => f.name === 'spillway_request_duration_seconds' && f.type === 'histogram'));
  assert.ok(!frame.families.some((f) => f.name.startsWith('spillway_process_')), 'process metrics stay in Prometheus');
  assert.equal(frame.forecast.horizonS, 60);
  assert.ok(
    frame.forecast.capacityRps !== null && frame.forecast.capacityRps > 0,
    'capacity is known once answers completed',
  );
  assert.equal(frame.recent.length, 5);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /spillway_capacity_rps \d/);
  assert.match(metrics, /spillway_demand_forecast_rps\{horizon_seconds="60"\}/);

  const ac = new AbortController();
  t.after(() => ac.abort());
  const sse = await fetch(`${gw.url}/admin/stats/stream`, { signal: ac.signal });
  assert.equal(sse.headers.get('content-type'), 'text/event-stream');
  const reader = sse.body?.getReader();
  assert.ok(reader);
  let text = '';
  const dec = new TextDecoder();
  // history, the latest frame, then a new frame per sample: wait for two frames.
  while ((text.match(/^event: frame$/gm) ?? []).length < 2) {
    const { value, done } = await reader.read();
    assert.equal(done, false);
    text += dec.decode(value);
  }
  assert.match(text, /^event: history\ndata: \{"points":\[/m);
  ac.abort();
});

test('the dashboard page and the stats stream need the admin key (header or ?key=); the page code does not', async (t) => {
  const { gw } = await startStack(t, { config: withAdminKey });
  assert.equal((await fetch(`${gw.url}/dashboard`)).status, 401);
  const page = await fetch(`${gw.url}/dashboard?key=admin-secret-123456`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.match(await page.text(), /<script src="\/dashboard\/assets\/dashboard\.js">/);
  for (const asset of ['dashboard.js', 'dashboard.css', 'uPlot.iife.min.js', 'uPlot.min.css']) {
    const r = await fetch(`${gw.url}/dashboard/assets/${asset}`);
    assert.equal(r.status, 200, asset);
    assert.ok((await r.arrayBuffer()).byteLength > 500, `${asset} has content`);
  }
  assert.equal((await fetch(`${gw.url}/dashboard/assets/nope.js`)).status, 404);
  assert.equal((await fetch(`${gw.url}/admin/stats`)).status, 401);
  assert.equal((await fetch(`${gw.url}/admin/upstreams/mock0/drain`, { method: 'POST' })).status, 401);
  const ac = new AbortController();
  t.after(() => ac.abort());
  const sse = await fetch(`${gw.url}/admin/stats/stream?key=admin-secret-123456`, { signal: ac.signal });
  assert.equal(sse.status, 200);
  ac.abort();
});

test('with log.access_file set, every finished request is appended to the file as one JSON line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-access-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'access.log');
  const { gw } = await startStack(t, {
    config: (urls) => ({
      log: { access_file: file, requests: false },
      upstreams: [{ name: 'mock0', url: `${urls[0] ?? ''}/v1` }],
      models: { chat: { routes: [{ upstream: 'mock0' }] } },
    }),
  });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await chat(gw.url);
    ids.push(r.headers.get('x-request-id') ?? '');
    await r.text();
  }
  await gw.shutdown(0); // flushes and closes the file
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as {
          requestId: string;
          status: number;
          upstream: string;
          attempts: number;
          ms: number;
          time: string;
        },
    );
  assert.deepEqual(
    lines.map((l) => l.requestId),
    ids,
  );
  for (const l of lines) {
    assert.equal(l.status, 200);
    assert.equal(l.upstream, 'mock0');
    assert.equal(l.attempts, 1);
    assert.ok(l.ms > 0 && !Number.isNaN(Date.parse(l.time)));
  }
});
