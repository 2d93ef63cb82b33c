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
  assert.throws(
    () => parseMockArgs(['--slot', '3']),
    (e: Error) => e instanceof UsageError && e.message.includes('--slot'),
  );
});

test('bad values are usage errors that name the flag and the value', () => {
  const cases = [
    [['--profile', 'slow'], /--profile .*"slow"/],
    [['--reject', '500'], /--reject .*"500"/],
    [['--ttft-ms', 'soon'], /--ttft-ms .*"soon"/],
    [['--port', '70000'], /--port/],
    [['--fault-500', '1.5'], /--fault-500 expects a probability .*"1.5"/],
    [['--fault-stall', 'often'], /--fault-stall .*"often"/],
    [['--rpm', '0'], /--rpm expects at least 1/],
    [['--jitter-pct', '150'], /--jitter-pct/],
    [['--fleet', 'f.yaml', '--port', '1'], /--fleet .*--port/],
  ] as const;
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseMockArgs([...argv]),
      (e: Error) => e instanceof UsageError && message.test(e.message),
    );
  }
});

test('the storm-lab flags become options', () => {
  const { options } = parseMockArgs([
    '--rpm',
    '60',
    '--per-key-rpm',
    '10',
    '--ttft-per-inflight-ms',
    '25',
    '--ttft-per-1k-prompt-ms',
    '150',
    '--jitter-pct',
    '20',
    '--fault-500',
    '0.1',
    '--fault-reset',
    '0.02',
    '--fault-reset-mid',
    '0.05',
    '--fault-stall',
    '0.01',
    '--fault-slow',
    '0.2',
    '--slow-token-ms',
    '90',
    '--continue-after-abort',
  ]);
  assert.equal(options.rpm, 60);
  assert.equal(options.perKeyRpm, 10);
  assert.equal(options.ttftPerInFlightMs, 25);
  assert.equal(options.ttftPer1kPromptTokensMs, 150);
  assert.equal(options.jitterPct, 20);
  assert.equal(options.continueAfterAbort, true);
  assert.deepEqual(options.faults, {
    error500: 0.1,
    resetBeforeHeaders: 0.02,
    resetMidStream: 0.05,
    stall: 0.01,
    slowTokens: 0.2,
    slowTokenMs: 90,
  });
});

test('fault flags override one rate of the profile and keep the others', () => {
  const { options } = parseMockArgs(['--profile', 'storm', '--fault-500', '0']);
  assert.equal(options.faults?.error500, 0);
  assert.equal(options.faults?.resetMidStream, 0.03);
  assert.equal(parseMockArgs(['--profile', 'storm']).options.faults?.error500, 0.03);
});

test('--fleet FILE is taken alone', () => {
  assert.equal(parseMockArgs(['--fleet', 'fleet.yaml']).fleet, 'fleet.yaml');
});

test("--api picks the APIs served and --reject takes 529 (Anthropic's overloaded); anything else is a usage error", () => {
  const { options } = parseMockArgs(['--api', 'anthropic', '--reject', '529']);
  assert.equal(options.api, 'anthropic');
  assert.equal(options.reject, 529);
  assert.throws(
    () => parseMockArgs(['--api', 'claude']),
    (e: Error) => e instanceof UsageError && e.message.includes('--api'),
  );
  assert.throws(
    () => parseMockArgs(['--reject', '500']),
    (e: Error) => e instanceof UsageError && e.message.includes('529'),
  );
});
