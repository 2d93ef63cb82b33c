import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { FIRST_CHOICE, fixedUpstream, startStack } from '../helpers/stack.ts';
import { answerText } from '../../src/mock/answer-text.ts';

const messages = [{ role: 'user' as const, content: 'hi' }];

const overloaded = (_req: unknown, res: ServerResponse) => {
  res.writeHead(503, { 'content-type': 'application/json' });
  res.end('{"error":{"message":"Server is busy, please try again later"}}');
};

test('a hedge that cannot be sent spends no retry budget: a later real retry still has it', async (t) => {
  const busy = await fixedUpstream(t, overloaded);
  const { client, gw, mocks } = await startStack(t, {
    mocks: [{ ttftMs: 600 }, {}, {}],
    config: (urls) => ({
      upstreams: [
        { name: 'slow', url: `${urls[0]}/v1` },
        // One request a minute: once spent, its account gate refuses every hedge.
        { name: 'fast', url: `${urls[1]}/v1`, requests_per_minute: 1 },
        { name: 'busy', url: `${busy.url}/v1`, weight: FIRST_CHOICE },
        { name: 'spare', url: `${urls[2]}/v1` },
      ],
      models: {
        chat: {
          routes: [{ upstream: 'slow' }, { upstream: 'fast' }],
          hedge: { min_delay: '100ms', max_delay: '100ms' },
        },
        'via-fast': { routes: [{ upstream: 'fast', model: 'chat' }] },
        flaky: {
          routes: [
            { upstream: 'busy', model: 'chat' },
            { upstream: 'spare', model: 'chat' },
          ],
          hedge: null,
        },
      },
      // A budget of exactly one retry in the window (no ratio, a floor of 0.1/s over 10 s).
      retry: { budget_ratio: 0, budget_min_per_second: 0.1, budget_window: '10s', backoff_base: '1ms' },
    }),
  });
  await client.chat.completions.create({ model: 'via-fast', messages, max_tokens: 5 }); // spends fast's minute
  // Slow first token: a hedge is wanted, but fast's gate refuses it. The answer comes from slow alone.
  const a = await client.chat.completions.create({ model: 'chat', messages, max_tokens: 5 });
  assert.equal(a.choices[0]?.message.content, answerText(1, 'hi', 5));
  assert.equal(mocks[1]!.stats().received, 1, 'the hedge was never sent');
  // The one retry of the budget is still there for a real failure.
  const b = await client.chat.completions.create({ model: 'flaky', messages, max_tokens: 5 });
  assert.equal(b.choices[0]?.message.content, answerText(1, 'hi', 5));
  assert.equal(busy.hits(), 1);
  const m = await (await fetch(`${gw.url}/metrics`)).text();
  assert.doesNotMatch(m, /spillway_hedges_total\{model="chat"\} [1-9]/);
  assert.doesNotMatch(m, /spillway_retry_stops_total\{why="budget"\} [1-9]/);
});
