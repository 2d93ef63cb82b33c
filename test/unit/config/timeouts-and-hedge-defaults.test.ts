import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../../src/config/load.ts';

const upstreams = [
  { name: 'a', url: 'http://127.0.0.1:9001/v1' },
  { name: 'b', url: 'http://127.0.0.1:9002/v1' },
];

test('hedging is on by default wherever a model has two upstreams, off where it has one, and off when null', () => {
  const c = resolveConfig(
    {
      upstreams,
      models: {
        two: { routes: [{ upstream: 'a' }, { upstream: 'b' }] },
        one: { routes: [{ upstream: 'a' }, { upstream: 'a', model: 'other' }] },
        off: { routes: [{ upstream: 'a' }, { upstream: 'b' }], hedge: null },
        tuned: { routes: [{ upstream: 'a' }, { upstream: 'b' }], hedge: { max_delay: '2s' } },
      },
    },
    'test',
    {},
  );
  assert.deepEqual(c.models.two?.hedge, { percentile: 95, minDelayMs: 250, maxDelayMs: 10_000 });
  assert.equal(c.models.one?.hedge, null, 'no other upstream to hedge on');
  assert.equal(c.models.off?.hedge, null);
  assert.deepEqual(c.models.tuned?.hedge, { percentile: 95, minDelayMs: 250, maxDelayMs: 2_000 });
});

test('first_token and idle are auto unless pinned; connect and total stay fixed', () => {
  const c = resolveConfig(
    {
      upstreams: [upstreams[0], { ...upstreams[1], timeouts: { first_token: '20s', idle: 'auto' } }],
      models: { m: { routes: [{ upstream: 'a' }] } },
    },
    'test',
    {},
  );
  assert.deepEqual(c.upstreams[0]?.timeouts, { connectMs: 5_000, firstTokenMs: null, idleMs: null, totalMs: 600_000 });
  assert.deepEqual(c.upstreams[1]?.timeouts, {
    connectMs: 5_000,
    firstTokenMs: 20_000,
    idleMs: null,
    totalMs: 600_000,
  });
  assert.throws(
    () =>
      resolveConfig(
        {
          upstreams: [{ ...upstreams[0], timeouts: { first_token: 'automatic' } }],
          models: { m: { routes: [{ upstream: 'a' }] } },
        },
        'test',
        {},
      ),
    /timeouts\.first_token.*expected "auto" or a duration/,
  );
  assert.throws(
    () =>
      resolveConfig(
        {
          upstreams: [{ ...upstreams[0], timeouts: { connect: 'auto' } }],
          models: { m: { routes: [{ upstream: 'a' }] } },
        },
        'test',
        {},
      ),
    /timeouts\.connect.*expected a duration/,
    'connect has nothing to learn from: no auto',
  );
});
