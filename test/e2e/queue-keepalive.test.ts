import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startStack } from '../helpers/stack.ts';
import { until } from '../helpers/until.ts';

const chat = (stream: boolean, q: string) =>
  JSON.stringify({ model: 'chat', stream, max_tokens: 3, messages: [{ role: 'user', content: q }] });

test('a stream waiting in the queue gets its 200 and a ": queued" comment every queue.stream_keepalive (server.sse_comments off), then its answer; a waiting non-stream hears nothing before its JSON', async (t) => {
  const { gw, mocks } = await startStack(t, {
    // One slot, and an answer slow enough (1.5 s to the first token) for several 100 ms keep-alives to fall due.
    mocks: [{ ttftMs: 1_500, tokenMs: 1 }],
    config: (urls) => ({
      upstreams: [{ name: 'one', url: `${urls[0]}/v1`, max_concurrency: 1 }],
      models: { chat: { routes: [{ upstream: 'one' }] } },
      queue: { stream_keepalive: '100ms' },
    }),
  });
  const post = (stream: boolean, q: string) =>
    request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chat(stream, q),
    });
  const holder = post(false, 'holds the only slot');
  await until(() => mocks[0]!.stats().inFlight === 1, 'the first request to hold the slot');
  const [waitingStream, waitingJson] = [post(true, 'waits, streaming'), post(false, 'waits, not streaming')];

  const s = await waitingStream;
  assert.equal(s.statusCode, 200);
  assert.match(String(s.headers['content-type']), /^text\/event-stream/);
  const text = await s.body.text();
  const firstData = text.indexOf('data: ');
  const before = text.slice(0, firstData);
  assert.match(
    before,
    /^(: queued\n\n){2,}$/,
    `keep-alives, and only keep-alives, before the first event: ${JSON.stringify(before)}`,
  );
  assert.match(text, /data: \[DONE\]\n\n$/);

  const j = await waitingJson;
  assert.equal(j.statusCode, 200);
  const body = await j.body.text();
  assert.equal(body[0], '{', 'a waiting non-stream answer starts with its JSON');
  assert.equal((JSON.parse(body) as { object: string }).object, 'chat.completion');
  assert.equal((await holder).statusCode, 200);
});
