import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withRouteParams } from '../../../src/route/route-params.ts';
import type { Call } from '../../../src/server/context.ts';

const call = (endpoint: Call['endpoint'], body: Record<string, unknown>): Call => ({
  endpoint,
  model: 'm',
  stream: false,
  body,
  raw: Buffer.from(JSON.stringify(body)),
});
const off = { thinking: { type: 'disabled' } };

test('a route adds its params only where the client set nothing, and only to chat completions', () => {
  const rows: [string, Call, Record<string, unknown> | undefined, Record<string, unknown> | undefined][] = [
    ['no params: the body is unchanged', call('chat', { a: 1 }), undefined, undefined],
    ['empty params: unchanged', call('chat', { a: 1 }), {}, undefined],
    ['a missing field is added', call('chat', { a: 1 }), off, { a: 1, ...off }],
    ["the client's own field wins", call('chat', { thinking: { type: 'enabled' } }), off, undefined],
    ["a client null is still the client's choice", call('chat', { thinking: null }), off, undefined],
    ['FIM completions get nothing', call('completions', { prompt: 'x' }), off, undefined],
    ['embeddings get nothing', call('embeddings', { input: 'x' }), off, undefined],
  ];
  for (const [name, c, params, want] of rows) assert.deepEqual(withRouteParams(c, params), want, name);
});
