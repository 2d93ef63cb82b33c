import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MOCK_DEFAULTS, resolveOptions } from '../../../src/mock/options.ts';
import { MOCK_PROFILES } from '../../../src/mock/profiles.ts';

test('defaults describe a fast server with no limits', () => {
  const o = resolveOptions();
  assert.equal(o.host, '127.0.0.1');
  assert.equal(o.slots, Infinity);
  assert.equal(o.reject, 503);
  assert.equal(o.defaultMaxTokens, 16);
  assert.equal(o.apiKeys, undefined);
  assert.equal(o.keepAliveMs, MOCK_DEFAULTS.keepAliveMs);
});

test('undefined values keep the defaults', () => {
  assert.equal(resolveOptions({ ttftMs: undefined }).ttftMs, 0);
});

test('nonsense options fail at start with every problem named', () => {
  assert.throws(
    () => resolveOptions({ slots: -1, reject: 500 as 503, defaultMaxTokens: 0 }),
    (e: Error) => /slots=-1/.test(e.message) && /reject=500/.test(e.message) && /defaultMaxTokens/.test(e.message),
  );
});

test('every profile resolves to valid options', () => {
  for (const [name, p] of Object.entries(MOCK_PROFILES)) {
    assert.doesNotThrow(() => resolveOptions(p.options), name);
  }
  assert.equal(MOCK_PROFILES.busy.options.slots, 4);
});
