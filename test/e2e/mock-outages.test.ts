import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { startMock } from '../../src/mock/server.ts';
import { mockFor } from '../helpers/mock.ts';

const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'm',
  messages: [{ role: 'user', content }],
  ...extra,
});

function post(url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
}

/** What a fresh TCP connection to the port meets: 'connected', or the error code (ECONNREFUSED). */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

test("a 'refuse' outage refuses connections and resets open ones during its window, then serves on the same port", async (t) => {
  const t0 = performance.now();
  // Windows are generous so that a loaded machine still makes the first request before the outage starts.
  const mock = await mockFor(t, { outages: [{ startMs: 400, endMs: 900, mode: 'refuse' }] });
  const started = once(mock.events, 'outage-start');
  const ended = once(mock.events, 'outage-end');
  const ac = new AbortController();
  t.after(() => ac.abort());
  const open = await post(
    mock.url,
    chat('in flight', { stream: true, mock: { stall_after_headers: true } }),
    ac.signal,
  );
  assert.equal(open.status, 200);
  // Settled into a value at once: the cut may come before the test gets to look at it.
  const openBody = open.text().then(
    () => 'ended',
    () => 'cut',
  );

  const [start] = (await started) as [{ index: number; mode: string; startMs: number; endMs: number }];
  assert.deepEqual(start, { index: 0, mode: 'refuse', startMs: 400, endMs: 900 });
  assert.ok(performance.now() - t0 >= 398, 'not before its start');
  assert.equal(await tryConnect(mock.port), 'ECONNREFUSED');
  assert.equal(await openBody, 'cut', 'the answer in flight is cut');

  await ended;
  assert.ok(performance.now() - t0 >= 898, 'not before its end');
  assert.equal(await tryConnect(mock.port), 'connected');
  const after = await post(mock.url, chat('after'));
  assert.equal(after.status, 200);
  await after.text();
  const s = mock.stats();
  assert.equal(s.faults.outage_reset, 1);
  assert.equal(s.aborted, 0, 'the server went down: no client aborted');
  assert.equal(s.inFlight, 0);
});

test("a 'hang' outage accepts requests and never answers them; at its end they are dropped and serving resumes", async (t) => {
  const mock = await mockFor(t, { outages: [{ startMs: 50, endMs: 500, mode: 'hang' }] });
  const ended = once(mock.events, 'outage-end');
  await once(mock.events, 'outage-start');
  const held = once(mock.events, 'fault');
  let settledAt: 'during' | 'after' | undefined;
  let over = false;
  const pending = post(mock.url, chat('hung'))
    .then(
      async (r) => ({ status: r.status, text: await r.text() }),
      (error: unknown) => ({ error }),
    )
    .finally(() => (settledAt = over ? 'after' : 'during'));
  const [fault] = (await held) as [{ kind: string }];
  assert.equal(fault.kind, 'outage_hang');
  const stats = await fetch(`${mock.url}/mock/stats`);
  assert.equal(stats.status, 200, 'control paths still answer, for the test harness');
  await stats.text();

  await ended;
  over = true;
  const result = await pending;
  assert.ok('error' in result, `the held request is dropped, not answered: ${JSON.stringify(result)}`);
  assert.equal(settledAt, 'after', 'nothing came back during the window');
  const after = await post(mock.url, chat('after'));
  assert.equal(after.status, 200);
  await after.text();
  assert.equal(mock.stats().faults.outage_hang, 1);
});

test('close() during a refuse outage ends promptly and never listens again', async (t) => {
  const mock = await startMock({ outages: [{ startMs: 0, endMs: 60_000, mode: 'refuse' }] });
  t.after(() => mock.close());
  await once(mock.events, 'outage-start');
  assert.equal(await tryConnect(mock.port), 'ECONNREFUSED');
  await mock.close();
  assert.equal(await tryConnect(mock.port), 'ECONNREFUSED');
});
