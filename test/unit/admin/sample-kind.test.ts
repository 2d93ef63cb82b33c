import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleKind, type TickView } from '../../../src/admin/sample-kind.ts';

const still = { rps: 0, retried: 0, tokensPerMin: 0, inFlight: 0, queued: 0 };
const idle: TickView = { viewers: 0, inFlight: 0, queued: 0, finished: false, last: still };

test('a beat reads the registry unless the gateway is quiet and no one watches', () => {
  const cases: [string, Partial<TickView>, 'full' | 'quiet'][] = [
    ['idle, unwatched, the last point still', {}, 'quiet'],
    ['a viewer is connected', { viewers: 1 }, 'full'],
    ['a request is in flight', { inFlight: 1 }, 'full'],
    ['a request is queued', { queued: 1 }, 'full'],
    ['a request finished since the last beat', { finished: true }, 'full'],
    ['no point yet', { last: undefined }, 'full'],
    ['the window still holds requests', { last: { ...still, rps: 0.2 } }, 'full'],
    ['the window still holds retries', { last: { ...still, retried: 0.2 } }, 'full'],
    ['the window still holds tokens', { last: { ...still, tokensPerMin: 12 } }, 'full'],
    ['the last point had a request in flight', { last: { ...still, inFlight: 1 } }, 'full'],
    ['the last point had a request queued', { last: { ...still, queued: 1 } }, 'full'],
  ];
  for (const [what, change, want] of cases) assert.equal(sampleKind({ ...idle, ...change }), want, what);
});
