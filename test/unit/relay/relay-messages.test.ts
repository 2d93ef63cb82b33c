import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMessage, messageUsage } from '../../../src/relay/relay-messages.ts';

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
