import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { nextEvent, startStack } from '../helpers/stack.ts';
import { answerText } from '../../src/mock/answer-text.ts';

const messages = [{ role: 'user' as const, content: 'hi' }];

test('healthz, readyz and metrics answer; metrics count requests, tokens and overhead', async (t) => {
  const { gw, client, logs } = await startStack(t);
  assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${gw.url}/readyz`)).status, 200);
  await client.chat.completions.create(
    { model: 'chat', messages, max_tokens: 6 },
    { headers: { 'x-request-id': 'req-abc-1' } },
  );
  const stream = await client.chat.completions.create({
    model: 'chat',
    messages,
    max_tokens: 6,
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const _ of stream);
  const m = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(m, /spillway_requests_total\{model="chat",upstream="mock0",status="200",code="ok"\} 2/);
  assert.match(m, /spillway_tokens_total\{model="chat",upstream="mock0",kind="completion"\} 12/);
  assert.match(m, /spillway_ttft_seconds_count\{model="chat"\} 1/);
  assert.match(m, /spillway_gateway_overhead_seconds_count 2/);
  assert.match(m, /spillway_upstream_max_concurrency\{upstream="mock0"\} 256/);
  const line = logs.records().find((l) => l.requestId === 'req-abc-1');
  assert.ok(line, 'the access log line carries the client request id');
  assert.equal(line.status, 200);
  assert.equal(line.upstream, 'mock0');
  assert.equal(line.completionTokens, 6);
});

test('shutdown drains: readyz fails, new requests are refused, the in-flight stream finishes', async (t) => {
  const { gw, mocks } = await startStack(t, { mocks: [{ tokenMs: 10 }] });
  const started = nextEvent(mocks[0]!.events, 'request');
  const inFlight = request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', messages, max_tokens: 30, stream: true }),
  });
  const res = await inFlight;
  await started;
  const drained = gw.shutdown(10_000);
  const ready = await request(`${gw.url}/readyz`).then(
    async (r) => {
      await r.body.text();
      return r.statusCode;
    },
    () => 'refused',
  );
  assert.ok(ready === 503 || ready === 'refused', `readyz while draining: ${ready}`);
  const body = await res.body.text();
  assert.ok(body.endsWith('data: [DONE]\n\n'), 'the in-flight stream finished');
  assert.ok(body.includes(answerText(1, 'hi', 30).split(' ').at(-1) ?? 'x'));
  assert.equal(await drained, true);
});
