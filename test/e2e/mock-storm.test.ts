import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { drawFaults, type FaultRates } from '../../src/mock/random-faults.ts';
import { RNG_STREAM, requestRng } from '../../src/mock/rng.ts';
import { keyLabel } from '../../src/mock/server.ts';
import { mockFor } from '../helpers/mock.ts';

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

/** Status, or 'reset' when the connection broke (before the headers, or while reading the body). */
async function outcome(res: Promise<Response>): Promise<number | 'reset'> {
  try {
    const r = await res;
    await r.text();
    return r.status;
  } catch {
    return 'reset';
  }
}

function contentTokens(sse: string): number {
  return sse
    .split('\n\n')
    .filter((e) => e.startsWith('data: {') && e.endsWith('}'))
    .filter((e) => {
      const c = JSON.parse(e.slice(6)).choices[0]?.delta?.content;
      return typeof c === 'string' && c !== '';
    }).length;
}

test('seeded fault rates: the server fails exactly the requests the pure draw predicts, near the configured rate', async (t) => {
  const rates: FaultRates = { error500: 0.2, resetBeforeHeaders: 0.1 };
  const mock = await mockFor(t, { seed: 3, faults: rates });
  const n = 120;
  const outcomes: Array<number | 'reset'> = [];
  // In waves of 10: arrival order inside a wave varies, but the set of request indexes (1..n) does not.
  for (let i = 0; i < n; i += 10) {
    outcomes.push(
      ...(await Promise.all(Array.from({ length: 10 }, (_, j) => outcome(post(mock.url, chat(`r${i + j}`)))))),
    );
  }
  const predicted = Array.from(
    { length: n },
    (_, i) => drawFaults(rates, requestRng(3, RNG_STREAM.faults, i + 1), 16)?.kind,
  );
  const want500 = predicted.filter((k) => k === 'error500').length;
  const wantReset = predicted.filter((k) => k === 'resetBeforeHeaders').length;
  assert.equal(outcomes.filter((o) => o === 500).length, want500);
  assert.equal(outcomes.filter((o) => o === 'reset').length, wantReset);
  assert.equal(outcomes.filter((o) => o === 200).length, n - want500 - wantReset);
  assert.deepEqual(mock.stats().faults, { status_500: want500, reset_before_headers: wantReset });
  // Within 3 standard deviations of the configured rates (the exact counts are checked above).
  assert.ok(Math.abs(want500 / n - 0.2) <= 0.11 && Math.abs(wantReset / n - 0.1) <= 0.083, `${want500}, ${wantReset}`);
});

test('a seeded mid-stream reset cuts each stream after the predicted number of tokens', async (t) => {
  const rates: FaultRates = { resetMidStream: 1 };
  const mock = await mockFor(t, { seed: 11, faults: rates });
  for (let i = 1; i <= 4; i++) {
    const res = await post(mock.url, chat(`cut ${i}`, { stream: true, max_tokens: 8 }));
    let text = '';
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    await assert.rejects(async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read())
        text += decoder.decode(r.value, { stream: true });
    });
    const cut = drawFaults(rates, requestRng(11, RNG_STREAM.faults, i), 8)?.faults.resetAfterTokens;
    assert.equal(contentTokens(text), cut, `request ${i}`);
    assert.ok(!text.includes('[DONE]'));
  }
  assert.equal(mock.stats().faults.reset_after_tokens, 4);
});

test('rpm: N+k requests in a minute, exactly N admitted and k get 429 with the seconds until a place frees', async (t) => {
  const mock = await mockFor(t, { rpm: 5 });
  const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => post(mock.url, chat(`q${i}`))));
  const refused = responses.filter((r) => r.status === 429);
  assert.equal(responses.filter((r) => r.status === 200).length, 5);
  assert.equal(refused.length, 3);
  for (const r of refused) {
    const after = Number(r.headers.get('retry-after'));
    assert.ok(after >= 55 && after <= 60, `retry-after ${after}: the first admission leaves the minute window then`);
    const body = (await r.json()) as { error: { code: string; type: string; message: string } };
    assert.equal(body.error.code, 'rate_limit_exceeded');
    assert.equal(body.error.type, 'rate_limit_error');
    assert.match(body.error.message, /requests per min \(RPM\): Limit 5/);
  }
  await Promise.all(responses.filter((r) => r.status === 200).map((r) => r.text()));
  assert.deepEqual(mock.stats().rejected, { rpm: 3 });
});

test('perKeyRpm limits each key on its own', async (t) => {
  const mock = await mockFor(t, { perKeyRpm: 2 });
  const statuses: Record<string, number[]> = { 'sk-aaaa': [], 'sk-bbbb': [] };
  for (let i = 0; i < 3; i++) {
    for (const key of Object.keys(statuses)) {
      const r = await post(mock.url, chat('x'), { key });
      await r.text();
      statuses[key]?.push(r.status);
    }
  }
  assert.deepEqual(statuses, { 'sk-aaaa': [200, 200, 429], 'sk-bbbb': [200, 200, 429] });
  assert.equal(mock.stats().rejected.key_rpm, 2);
});

test('per-key concurrency caps hold under 50 concurrent requests: 3 per key in flight, the rest 429', async (t) => {
  // Admitted requests stall, so every request overlaps the admitted ones however slow the machine is.
  const mock = await mockFor(t, { perKeyConcurrency: 3, slots: 2, queueSize: 10, keepAliveMs: 5 });
  const ac = new AbortController();
  t.after(() => ac.abort());
  const keys = ['sk-key-1111', 'sk-key-2222'];
  const responses = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      post(mock.url, chat(`c${i}`, { mock: { stall_after_headers: true } }), { key: keys[i % 2], signal: ac.signal }),
    ),
  );
  const byStatus = (s: number) => responses.filter((r) => r.status === s);
  assert.equal(byStatus(200).length, 6, 'three per key, admitted or queued (queued ones got keep-alive headers)');
  assert.equal(byStatus(429).length, 44);
  for (const r of byStatus(429))
    assert.equal(((await r.json()) as { error: { message: string } }).error.message, 'concurrency limit exceeded');
  const s = mock.stats();
  assert.deepEqual(s.peakPerKey, { [keyLabel('sk-key-1111')]: 3, [keyLabel('sk-key-2222')]: 3 });
  assert.equal(s.rejected.key_concurrency, 44);
  assert.equal(s.peakInFlight, 6);
});

test('TTFT grows with the number of requests already being answered', async (t) => {
  const mock = await mockFor(t, { ttftPerInFlightMs: 150 });
  const ac = new AbortController();
  t.after(() => ac.abort());
  for (let i = 0; i < 2; i++) {
    const admitted = once(mock.events, 'admitted');
    await post(mock.url, chat('hold', { mock: { stall_after_headers: true } }), { signal: ac.signal });
    await admitted;
  }
  const started = performance.now();
  const res = await post(mock.url, chat('third', { max_tokens: 1 }));
  await res.text();
  // Two others in flight: 2 × 150 ms before the answer. A lower bound only, so a slow machine cannot fail it.
  assert.ok(performance.now() - started >= 295, `answered after ${performance.now() - started} ms`);
});

test('continueAfterAbort: an abandoned answer keeps its slot until generated, and is counted as wasted work', async (t) => {
  const mock = await mockFor(t, { continueAfterAbort: true, tokenMs: 40, slots: 1 });
  const ac = new AbortController();
  const res = await post(mock.url, chat('abandon me', { stream: true, max_tokens: 6 }), { signal: ac.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  const aborted = once(mock.events, 'aborted');
  const wasted = once(mock.events, 'completed-after-client-gone');
  ac.abort();
  await aborted;
  assert.equal(mock.stats().inFlight, 1, 'still generating after the client left');
  await wasted;
  const s = mock.stats();
  assert.equal(s.completedAfterClientGone, 1);
  assert.equal(s.aborted, 1);
  assert.equal(s.completed, 0);
  assert.equal(s.inFlight, 0);
  const next = await post(mock.url, chat('next'));
  assert.equal(next.status, 200, 'the slot was given back');
  await next.text();
});
