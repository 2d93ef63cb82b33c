import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { answerText } from '../../src/mock/answer-text.ts';
import { keyLabel, type MockServer, type MockStats } from '../../src/mock/server.ts';
import { mockFor, errorOf } from '../helpers/mock.ts';

function post(url: string, body: unknown, init: { key?: string; signal?: AbortSignal } = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.key !== undefined) headers.authorization = `Bearer ${init.key}`;
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    signal: init.signal,
  });
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'm',
  messages: [{ role: 'user', content }],
  ...extra,
});
const stalled = chat('hold the slot', { mock: { stall_after_headers: true } });

/** Occupies one slot with a request that never finishes; abort() frees it. */
async function holdSlot(mock: MockServer, key?: string): Promise<AbortController> {
  const ac = new AbortController();
  const admitted = once(mock.events, 'admitted');
  const res = await post(mock.url, stalled, { key, signal: ac.signal });
  assert.equal(res.status, 200);
  await admitted;
  return ac;
}

async function readChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const { value } = await reader.read();
  return new TextDecoder().decode(value);
}

async function readRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
  return text;
}

test('when every slot is busy and there is no queue, it refuses with 503 and Retry-After', async (t) => {
  const mock = await mockFor(t, { slots: 1, retryAfterS: 3 });
  const holder = await holdSlot(mock);
  t.after(() => holder.abort());
  const res = await post(mock.url, chat('next'));
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '3');
  assert.equal((await errorOf(res)).message, 'Server is busy, please try again later');
  assert.equal(mock.stats().rejected.full, 1);
  assert.equal(mock.stats().peakInFlight, 1, 'a refused request never counts as in flight');
});

test('reject: 429 refuses with 429 and Retry-After instead', async (t) => {
  const mock = await mockFor(t, { slots: 1, reject: 429 });
  const holder = await holdSlot(mock);
  t.after(() => holder.abort());
  const res = await post(mock.url, chat('next'));
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '1');
  assert.equal((await errorOf(res)).type, 'rate_limit_error');
});

test('a queued request gets blank keep-alive lines, then its answer when a slot frees', async (t) => {
  const mock = await mockFor(t, { slots: 1, queueSize: 1, keepAliveMs: 20 });
  const holder = await holdSlot(mock);
  const res = await post(mock.url, chat('waiting', { max_tokens: 3 }));
  assert.equal(res.status, 200, 'headers go out with the first keep-alive');
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  assert.match(await readChunk(reader), /^\n+$/);
  holder.abort();
  const text = await readRest(reader);
  const body = JSON.parse(text);
  assert.equal(body.choices[0].message.content, answerText(1, 'waiting', 3));
  const s = mock.stats();
  assert.equal(s.aborted, 1);
  assert.equal(s.completed, 1);
  assert.equal(s.peakInFlight, 2);
});

test('a queued stream gets ": keep-alive" comments before its first token', async (t) => {
  const mock = await mockFor(t, { slots: 1, queueSize: 1, keepAliveMs: 20 });
  const holder = await holdSlot(mock);
  const res = await post(mock.url, chat('waiting', { max_tokens: 2, stream: true }));
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  assert.match(await readChunk(reader), /^(: keep-alive\n\n)+$/);
  holder.abort();
  const rest = await readRest(reader);
  assert.ok(rest.trimEnd().endsWith('data: [DONE]'));
  assert.match(rest, /"content":"t0-/);
});

test('a queued request that waits too long is refused like a full server', async (t) => {
  const mock = await mockFor(t, {
    slots: 1,
    queueSize: 1,
    keepAliveMs: 0,
    queueTimeoutMs: 20,
    reject: 429,
    retryAfterS: 2,
  });
  const holder = await holdSlot(mock);
  t.after(() => holder.abort());
  const res = await post(mock.url, chat('late'));
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '2');
  assert.equal(mock.stats().rejected.queue_timeout, 1);
});

test('a queue timeout after keep-alives started ends the answer with an in-band error', async (t) => {
  const mock = await mockFor(t, { slots: 1, queueSize: 2, keepAliveMs: 5, queueTimeoutMs: 40 });
  const holder = await holdSlot(mock);
  t.after(() => holder.abort());
  const [plain, stream] = await Promise.all([
    post(mock.url, chat('late')),
    post(mock.url, chat('late', { stream: true })),
  ]);
  assert.equal(plain.status, 200);
  const plainText = await plain.text();
  assert.match(plainText, /^\n+\{"error":/);
  assert.equal(JSON.parse(plainText).error.message, 'Server is busy, please try again later');
  const streamText = await stream.text();
  assert.match(streamText, /^: keep-alive\n\n/);
  assert.match(streamText, /data: \{"error":\{.*\}\}\n\n$/);
  assert.equal(mock.stats().rejected.queue_timeout, 2);
});

test('a key already at its concurrency limit gets 429 "concurrency limit exceeded"; other keys pass', async (t) => {
  const mock = await mockFor(t, { perKeyConcurrency: 1, apiKeys: ['sk-key-one', 'sk-key-two'] });
  const holder = await holdSlot(mock, 'sk-key-one');
  t.after(() => holder.abort());
  const same = await post(mock.url, chat('x'), { key: 'sk-key-one' });
  assert.equal(same.status, 429);
  assert.equal((await errorOf(same)).message, 'concurrency limit exceeded');
  const other = await post(mock.url, chat('x'), { key: 'sk-key-two' });
  assert.equal(other.status, 200);
  await other.text();
  const s = mock.stats();
  assert.equal(s.rejected.key_concurrency, 1);
  assert.deepEqual(s.peakPerKey, { [keyLabel('sk-key-one')]: 1, [keyLabel('sk-key-two')]: 1 });
  assert.ok(!JSON.stringify(s.peakPerKey).includes('sk-key'), 'stats never show full keys');
});

test('with apiKeys set, a missing or wrong key gets 401 invalid_api_key', async (t) => {
  const mock = await mockFor(t, { apiKeys: ['sk-good'] });
  for (const key of [undefined, 'sk-bad']) {
    const res = await post(mock.url, chat('x'), { key });
    assert.equal(res.status, 401);
    const error = await errorOf(res);
    assert.equal(error.code, 'invalid_api_key');
    assert.equal(error.type, 'authentication_error');
  }
  const ok = await post(mock.url, chat('x'), { key: 'sk-good' });
  assert.equal(ok.status, 200);
  await ok.text();
  assert.equal(mock.stats().rejected.unauthorized, 2);
});

test('/mock/stats counts requests by path and outcome, and /mock/reset zeroes them', async (t) => {
  const mock = await mockFor(t);
  await (await post(mock.url, chat('a'))).text();
  await (
    await fetch(`${mock.url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ ...chat('b'), user: 'u1' }),
      headers: { 'x-pass': 'through' },
    })
  ).text();
  await (await fetch(`${mock.url}/v1/models`)).text();
  const stats = (await (await fetch(`${mock.url}/mock/stats`)).json()) as MockStats;
  assert.equal(stats.received, 3);
  assert.equal(stats.completed, 3);
  assert.equal(stats.inFlight, 0);
  assert.deepEqual(stats.byPath, { '/v1/chat/completions': 1, '/chat/completions': 1, '/v1/models': 1 });
  assert.equal(stats.lastRequest?.headers['x-pass'], undefined, 'the last request was GET /v1/models');
  const before = mock.stats();
  assert.equal(before.received, 3, '/mock/* requests are not counted');
  assert.equal((await fetch(`${mock.url}/mock/reset`, { method: 'POST' })).status, 200);
  assert.equal(mock.stats().received, 0);
});

test('lastRequest holds the headers and body the upstream received', async (t) => {
  const mock = await mockFor(t);
  const body = { ...chat('pass'), user: 'u1', custom_field: { a: 1 } };
  await (
    await fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'x-pass': 'through' },
    })
  ).text();
  const last = mock.stats().lastRequest;
  assert.equal(last?.headers['x-pass'], 'through');
  assert.deepEqual(last?.body, body);
});
