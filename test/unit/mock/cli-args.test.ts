import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../../src/cli/args.ts';
import { DEFAULT_MOCK_PORT, parseMockArgs } from '../../../src/cli/mock.ts';

test('a profile gives its preset, and flags override it', () => {
  const { profile, options } = parseMockArgs(['--profile', 'busy', '--slots', '2', '--reject', '429', '--port', '0']);
  assert.equal(profile, 'busy');
  assert.equal(options.slots, 2);
  assert.equal(options.queueSize, 16);
  assert.equal(options.ttftMs, 300);
  assert.equal(options.reject, 429);
  assert.equal(options.port, 0);
});

test('without flags: the fast profile on the default port', () => {
  const { profile, options } = parseMockArgs([]);
  assert.equal(profile, 'fast');
  assert.equal(options.port, DEFAULT_MOCK_PORT);
  assert.equal(options.slots, undefined);
});

test('--api-key may be repeated', () => {
  assert.deepEqual(parseMockArgs(['--api-key', 'a', '--api-key', 'b']).options.apiKeys, ['a', 'b']);
});

test('an unknown flag is a usage error that names it', () => {
  assert.throws(() => parseMockArgs(['--slot', '3']), (e: Error) => e instanceof UsageError && e.message.includes('--slot'));
});

test('bad values are usage errors that name the flag and the value', () => {
  const cases = [
    [['--profile', 'slow'], /--profile .*"slow"/],
    [['--reject', '500'], /--reject .*"500"/],
    [['--ttft-ms', 'soon'], /--ttft-ms .*"soon"/],
    [['--port', '70000'], /--port/],
  ] as const;
  for (const [argv, message] of cases) {
    assert.throws(() => parseMockArgs([...argv]), (e: Error) => e instanceof UsageError && message.test(e.message));
  }
});
