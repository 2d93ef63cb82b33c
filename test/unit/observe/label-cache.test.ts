import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelCache } from '../../../src/observe/label-cache.ts';

test('a labelled child is made once per combination of label values, and each combination has its own', () => {
  const made: string[][] = [];
  const child = labelCache((...values) => {
    made.push(values);
    return { values };
  });
  const combos = [
    ['chat', 'up', '200', 'ok'],
    ['chat', 'up', '500', 'upstream_error'],
    ['chat', 'other', '200', 'ok'],
    ['a\u0001b', 'c', '', ''],
    ['a', 'b\u0001c', '', ''],
    ['', '', '', ''],
  ];
  const first = combos.map((c) => child(...c));
  const again = combos.map((c) => child(...c));
  assert.deepEqual(made, combos, 'made once each, with the values asked for');
  for (let i = 0; i < combos.length; i++) {
    assert.equal(again[i], first[i], `the same child for ${JSON.stringify(combos[i])}`);
    assert.deepEqual(first[i]?.values, combos[i]);
  }
  assert.equal(new Set(first).size, combos.length);
});
