import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerTokens } from '../../src/mock/answer-text.ts';
import { carriesUpstreamBusy } from '../../src/mock/busy-text.ts';
import { mockFor } from '../helpers/mock.ts';

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

test('blank_200 answers 200 with a body of only blank lines, stream or not', async (t) => {
  const mock = await mockFor(t, { ttftMs: 5 });
  for (const stream of [false, true]) {
    const res = await post(mock.url, chat('x', { stream, mock: { blank_200: true } }));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', stream ? /event-stream/ : /json/);
    const text = await res.text();
    assert.ok(text.length > 0 && text.trim() === '', `stream=${stream}: ${JSON.stringify(text)}`);
  }
  assert.equal(mock.stats().faults.blank_200, 2);
});

test('keep_alive_forever sends keep-alive lines and never an answer, until the client leaves', async (t) => {
  const mock = await mockFor(t, { keepAliveMs: 10 });
  for (const stream of [false, true]) {
    const abort = new AbortController();
    const res = await post(mock.url, chat('x', { stream, mock: { keep_alive_forever: true } }), abort.signal);
    assert.equal(res.status, 200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const line = stream ? ': keep-alive\n\n' : '\n';
    while (text.split(line).length <= 3) text += new TextDecoder().decode((await reader.read()).value);
    assert.equal(text.replaceAll(line, ''), '', 'nothing but keep-alive lines');
    const aborted = new Promise((resolve) => mock.events.once('aborted', resolve));
    abort.abort();
    await aborted;
  }
  assert.equal(mock.stats().faults.keep_alive_forever, 2);
  assert.equal(mock.stats().inFlight, 0);
});

test('end_after_tokens ends cleanly mid-answer: a stream without [DONE], a JSON body cut with a matching length', async (t) => {
  const mock = await mockFor(t);
  const s = await post(mock.url, chat('cut', { stream: true, max_tokens: 8, mock: { end_after_tokens: 3 } }));
  const text = await s.text();
  assert.ok(!text.includes('[DONE]'));
  const got = text
    .split('\n\n')
    .filter((e) => e.startsWith('data: {'))
    .map((e) => JSON.parse(e.slice(6)).choices[0]?.delta?.content)
    .filter((c) => c);
  assert.deepEqual(got, answerTokens(1, 'cut', 8).slice(0, 3));
  const j = await post(mock.url, chat('cut', { max_tokens: 8, mock: { end_after_tokens: 2 } }));
  const body = await j.text();
  assert.equal(Number(j.headers.get('content-length')), Buffer.byteLength(body));
  assert.throws(() => JSON.parse(body));
  assert.ok(body.endsWith(answerTokens(1, 'cut', 8).slice(0, 2).join('')));
  assert.equal(mock.stats().faults.end_after_tokens, 2);
});

test('wrong_content_type answers 200 text/html with a web page', async (t) => {
  const mock = await mockFor(t);
  const res = await post(mock.url, chat('x', { mock: { wrong_content_type: true } }));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await res.text(), /<html>/);
});

test('seeded 429 and 503 faults carry the mock Retry-After and words a client recognises as an upstream busy answer', async (t) => {
  const mock = await mockFor(t, { retryAfterS: 3, faults: { error429: 0.5, error503: 0.5 } });
  const seen = new Set<number>();
  for (let i = 0; i < 12; i++) {
    const res = await post(mock.url, chat(`r${i}`));
    seen.add(res.status);
    assert.equal(res.headers.get('retry-after'), '3');
    assert.ok(carriesUpstreamBusy(await res.text()));
  }
  assert.deepEqual([...seen].sort(), [429, 503]);
});

test('a full mock answers with busy words; a 500 does not carry them', async (t) => {
  const mock = await mockFor(t, { slots: 0 });
  assert.ok(carriesUpstreamBusy(await (await post(mock.url, chat('x'))).text()));
  const m2 = await mockFor(t);
  assert.ok(!carriesUpstreamBusy(await (await post(m2.url, chat('x', { mock: { status: 500 } }))).text()));
});
