import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMessage, messageUsage, relayMessages } from '../../../src/relay/relay-messages.ts';
import { MessagesText } from '../../../src/relay/messages-text.ts';
import type { RequestContext } from '../../../src/server/context.ts';
import type { SseReader } from '../../../src/relay/sse-reader.ts';
import type { OpenAttempt } from '../../../src/upstream/open-attempt.ts';

test('a Messages answer is checked before it is relayed: only a whole message object with content passes', () => {
  const message =
    '{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":5,"output_tokens":2}}';
  const rows: [string | undefined, string, string | true][] = [
    ['application/json', message, true],
    ['application/json', `\n\n${message}`, true],
    [undefined, message, true],
    ['text/html', message, 'content-type text/html instead of JSON'],
    ['application/json', '', 'empty body'],
    ['application/json', '\n\n', 'body of blank lines only'],
    ['application/json', message.slice(0, 40), 'truncated or invalid JSON'],
    ['application/json', '[1]', 'body is not a JSON object'],
    ['application/json', '{"type":"error","error":{"type":"overloaded_error"}}', 'an error object with status 200'],
    ['application/json', '{"choices":[{"message":{}}]}', 'JSON that is not a Messages answer'],
  ];
  for (const [type, body, want] of rows) {
    const c = checkMessage(type, Buffer.from(body));
    if (want === true) {
      assert.ok(c.ok, body);
      assert.equal(c.body.toString(), message);
    } else assert.deepEqual(c, { ok: false, detail: want }, body);
  }
});

test("Anthropic usage becomes the gateway's: cache reads and writes are part of the prompt, reads are hits", () => {
  assert.deepEqual(messageUsage({ usage: { input_tokens: 10, output_tokens: 4 } }), {
    promptTokens: 10,
    completionTokens: 4,
    promptCacheHitTokens: 0,
  });
  assert.deepEqual(
    messageUsage({
      usage: { input_tokens: 10, cache_read_input_tokens: 30, cache_creation_input_tokens: 5, output_tokens: 4 },
    }),
    { promptTokens: 45, completionTokens: 4, promptCacheHitTokens: 30, promptCacheMissTokens: 15 },
  );
  assert.deepEqual(messageUsage({}), { promptTokens: 0, completionTokens: 0, promptCacheHitTokens: 0 });
  assert.deepEqual(messageUsage({ usage: { input_tokens: 'x' } }), {
    promptTokens: 0,
    completionTokens: 0,
    promptCacheHitTokens: 0,
  });
});

/** The relay's collaborators, as little of them as it touches: a started response, an attempt, a clock. */
function relayFakes() {
  const written: string[] = [];
  const res = {
    headersSent: true,
    writableEnded: false,
    write(s: string) {
      written.push(s);
      return true;
    },
    end() {
      res.writableEnded = true;
    },
  };
  const ctx = { res, startedAt: 0, ttftMs: undefined, usage: undefined, clientGone: new AbortController().signal };
  const att = { timer: { firstToken: () => undefined } };
  const reader = { next: () => Promise.resolve(null) };
  return { written, ctx, att, reader, clock: { now: () => 0 } };
}

const ev = (type: string, data: object): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}`;

test("an upstream error after content in the same batch: the content before it reaches the client, and it is what a continuation's record holds", async () => {
  const f = relayFakes();
  const track = new MessagesText();
  const batch = [
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hello' } }),
    ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: ' world' } }),
    ev('error', { error: { type: 'overloaded_error', message: 'busy' } }),
  ];
  const r = await relayMessages(
    f.ctx as unknown as RequestContext,
    f.reader as unknown as SseReader,
    f.att as unknown as OpenAttempt,
    batch,
    { track, continuing: false, rewrite: undefined },
    f.clock,
  );
  assert.equal(r.outcome.kind, 'overloaded');
  assert.equal(r.contentSent, true);
  const sent = f.written.join('');
  assert.match(sent, /Hello/);
  assert.match(sent, / world/);
  assert.doesNotMatch(sent, /overloaded_error/, 'the error itself is the loop’s to tell');
  assert.equal(track.text, 'Hello world', 'the record is what the client got');
});
