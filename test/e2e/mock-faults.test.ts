import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'undici';
import { answerTokens } from '../../src/mock/answer-text.ts';
import { mockFor, errorOf } from '../helpers/mock.ts';

function post(url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'm',
  messages: [{ role: 'user', content }],
  ...extra,
});

/** Reads a body until it ends or breaks; returns what arrived and the error, if any. */
async function readUntilBreak(res: Response): Promise<{ text: string; error: unknown }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read())
      text += decoder.decode(r.value, { stream: true });
    return { text, error: undefined };
  } catch (error) {
    return { text, error };
  }
}

/** Reads a body until what arrived satisfies `enough` (the body is left open). */
async function readUntil(res: Response, enough: (text: string) => boolean): Promise<string> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!enough(text)) {
    const r = await reader.read();
    if (r.done) throw new Error(`body ended early: ${text}`);
    text += decoder.decode(r.value, { stream: true });
  }
  return text;
}

function contentTokens(sse: string): string[] {
  // Only complete events: the last piece is "" for a whole body, or an event still arriving.
  return sse
    .split('\n\n')
    .slice(0, -1)
    .filter((e) => e.startsWith('data: {'))
    .flatMap((e) => {
      const content = JSON.parse(e.slice(6)).choices[0]?.delta?.content;
      return typeof content === 'string' && content !== '' ? [content] : [];
    });
}

test('a status fault answers that error as OpenAI JSON, with Retry-After when asked', async (t) => {
  const mock = await mockFor(t);
  const busy = await post(mock.url, chat('x', { mock: { status: 503, retry_after_s: 4 } }));
  assert.equal(busy.status, 503);
  assert.equal(busy.headers.get('retry-after'), '4');
  assert.equal((await errorOf(busy)).message, 'Server is busy, please try again later');
  const limited = await post(mock.url, chat('x', { mock: { status: 429 } }));
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), null);
  assert.match((await errorOf(limited)).message, /Rate limit reached/);
  assert.deepEqual(mock.stats().faults, { status_503: 1, status_429: 1 });
});

test('reset_after_tokens cuts the stream after exactly N tokens, with no finish and no [DONE]', async (t) => {
  const mock = await mockFor(t);
  const res = await post(mock.url, chat('cut me', { stream: true, max_tokens: 10, mock: { reset_after_tokens: 3 } }));
  assert.equal(res.status, 200);
  const { text, error } = await readUntilBreak(res);
  assert.ok(error !== undefined, 'the body breaks instead of ending cleanly');
  assert.deepEqual(contentTokens(text), answerTokens(1, 'cut me', 10).slice(0, 3));
  assert.ok(!text.includes('[DONE]') && !text.includes('finish_reason":"length'));
  assert.equal(mock.stats().faults.reset_after_tokens, 1);
  assert.equal(mock.stats().aborted, 0, 'a reset by the mock is not a client abort');
});

test('reset_after_tokens on a non-stream request sends a truncated body', async (t) => {
  const mock = await mockFor(t);
  const res = await post(mock.url, chat('cut me', { max_tokens: 10, mock: { reset_after_tokens: 2 } }));
  assert.equal(res.status, 200);
  const { text, error } = await readUntilBreak(res);
  assert.ok(error !== undefined);
  assert.ok(text.endsWith(answerTokens(1, 'cut me', 10).slice(0, 2).join('')));
});

test('reset_before_headers drops the connection without an answer', async (t) => {
  const mock = await mockFor(t);
  await assert.rejects(post(mock.url, chat('x', { mock: { reset_before_headers: true } })));
  assert.equal(mock.stats().faults.reset_before_headers, 1);
});

test('stall_after_tokens sends N tokens then nothing, until the client gives up', async (t) => {
  const mock = await mockFor(t);
  const ac = new AbortController();
  const res = await post(mock.url, chat('stall', { stream: true, mock: { stall_after_tokens: 2 } }), ac.signal);
  const text = await readUntil(res, (sse) => contentTokens(sse).length >= 2);
  assert.deepEqual(contentTokens(text), answerTokens(1, 'stall', 16).slice(0, 2));
  const aborted = once(mock.events, 'aborted');
  ac.abort();
  await aborted;
  assert.equal(mock.stats().inFlight, 0);
});

test('a client that goes away mid-answer is counted as aborted and generation stops', async (t) => {
  // A token every minute: if the mock kept its timer after the abort, this test file would not end promptly.
  const mock = await mockFor(t, { tokenMs: 60_000 });
  const ac = new AbortController();
  const res = await post(mock.url, chat('slow', { stream: true }), ac.signal);
  assert.match(await readUntil(res, (sse) => contentTokens(sse).length >= 1), /t0-/);
  const aborted = once(mock.events, 'aborted');
  ac.abort();
  await aborted;
  const s = mock.stats();
  assert.equal(s.aborted, 1);
  assert.equal(s.completed, 0);
  assert.equal(s.inFlight, 0);
});

test('blank_lines_before sends keep-alive lines before the answer', async (t) => {
  const mock = await mockFor(t);
  const plain = await post(mock.url, chat('x', { max_tokens: 2, mock: { blank_lines_before: 3 } }));
  const text = await plain.text();
  assert.match(text, /^\n\n\n\{/);
  assert.equal(plain.headers.get('content-length'), String(Buffer.byteLength(text)));
  const stream = await post(mock.url, chat('x', { max_tokens: 2, stream: true, mock: { blank_lines_before: 2 } }));
  assert.match(await stream.text(), /^: keep-alive\n\n: keep-alive\n\ndata: /);
});

test('ttft_ms delays the answer of this request', async (t) => {
  const mock = await mockFor(t);
  const started = performance.now();
  const res = await request(`${mock.url}/v1/chat/completions`, {
    method: 'POST',
    body: JSON.stringify(chat('x', { stream: true, mock: { ttft_ms: 30 } })),
  });
  assert.equal(res.statusCode, 200);
  const text = await res.body.text();
  assert.ok(performance.now() - started >= 25, 'the answer cannot arrive before its TTFT');
  assert.ok(text.endsWith('data: [DONE]\n\n'));
});

test('failEvery makes every Nth request fail, alternating a 500 and a mid-stream reset', async (t) => {
  const mock = await mockFor(t, { failEvery: 2 });
  const statuses: Array<number | string> = [];
  for (let i = 0; i < 4; i++) {
    const res = await post(mock.url, chat(`r${i}`, { stream: true }));
    const { error } = await readUntilBreak(res);
    statuses.push(error === undefined ? res.status : 'reset');
  }
  assert.deepEqual(statuses, [200, 500, 200, 'reset']);
});

test('an unknown fault field is a 400 naming it', async (t) => {
  const mock = await mockFor(t);
  const res = await post(mock.url, chat('x', { mock: { reset_after_token: 1 } }));
  assert.equal(res.status, 400);
  assert.match((await errorOf(res)).message, /reset_after_token/);
});
