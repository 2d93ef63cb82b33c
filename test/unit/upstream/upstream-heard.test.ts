import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamHeard } from '../../../src/upstream/upstream-heard.ts';

test('only a silence of the whole upstream of 200 ms or more is remembered, the latest one', () => {
  const h = new UpstreamHeard();
  const rows: [at: number, silence: { from: number; to: number } | undefined][] = [
    [1_000, { from: -Infinity, to: 1_000 }], // nothing was heard before: all of it was silence
    [1_150, { from: -Infinity, to: 1_000 }], // 150 ms: its rhythm between tokens
    [1_350, { from: 1_150, to: 1_350 }],
    [1_360, { from: 1_150, to: 1_350 }],
    [5_000, { from: 1_360, to: 5_000 }],
  ];
  for (const [at, silence] of rows) {
    h.bytes(at);
    assert.equal(h.lastByteAt, at);
    assert.deepEqual(h.lastSilence, silence, `bytes at ${at}`);
  }
});

test('a prefill explains a silence only while it is registered and only if sent by then', () => {
  const h = new UpstreamHeard();
  assert.equal(h.prefillDueAt(Infinity), -Infinity);
  const early = h.prefill(100, 8_000);
  h.prefill(2_000, 9_000);
  assert.equal(h.prefillDueAt(1_000), 8_000, 'the one sent later cannot have caused a silence begun before');
  assert.equal(h.prefillDueAt(2_000), 9_000);
  h.prefilled(early);
  assert.equal(h.prefillDueAt(1_000), -Infinity);
});

test('the first start of an attempt sent at or after a time is when it began, of those remembered', () => {
  const h = new UpstreamHeard();
  h.started(100, 400);
  h.started(300, 500);
  h.started(200, 600); // started after one sent later: order across connections may differ
  assert.equal(h.startedAfter(150), 500);
  assert.equal(h.startedAfter(300), 500);
  assert.equal(h.startedAfter(301), undefined, 'nobody sent after it has started');
  for (let i = 0; i < 600; i++) h.started(1_000 + i, 2_000 + i);
  assert.equal(h.startedAfter(0), 2_000 + 600 - 512, 'the oldest are forgotten: at most 512 kept');
});
