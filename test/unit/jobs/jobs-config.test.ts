import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigFile, parseConfigText } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/errors.ts';

const base = 'upstreams: [{ name: u, url: "http://127.0.0.1:9/v1" }]\nmodels: { m: { routes: [{ upstream: u }] } }\n';

test('jobs config: defaults resolve to milliseconds and are off unless enabled', () => {
  const c = parseConfigText(base, 'x.yaml', {});
  assert.equal(c.jobs.enabled, false);
  assert.equal(c.jobs.leaseMs, 30_000);
  assert.equal(c.jobs.retentionMs, 72 * 3_600_000);
  assert.equal(c.jobs.store, 'sqlite');
});

test('jobs config errors name the file, key, value and expectation', () => {
  const cases: [string, RegExp][] = [
    ['jobs: { enabled: true, store: redis }\n', /jobs\.store \(line 1\): got "redis", expected state\.redis to be set/],
    ['jobs: { run_windows: ["25:00-01:00"] }\n', /jobs\.run_windows\[0\].*"25:00-01:00".*HH:MM-HH:MM/],
    ['jobs: { spare_percent: 0 }\n', /jobs\.spare_percent.*got 0.*≥ 1/],
    [
      'jobs: { backoff_base: 10s, backoff_cap: 1s }\n',
      /jobs\.backoff_cap.*got "1s", expected at least jobs\.backoff_base/,
    ],
    ['jobs: { webhook: { secret: short } }\n', /jobs\.webhook\.secret.*at least 16 characters/],
  ];
  for (const [yaml, says] of cases) {
    assert.throws(
      () => parseConfigText(`${yaml}${base}`, 'x.yaml', {}),
      (e: unknown) => e instanceof ConfigError && e.message.includes('x.yaml') && says.test(e.message),
      yaml,
    );
  }
});

test('examples/batch-jobs.yaml is a valid config with jobs on', () => {
  const c = loadConfigFile(new URL('../../../examples/batch-jobs.yaml', import.meta.url).pathname, {
    DEEPSEEK_API_KEY: 'sk-example',
    WEBHOOK_SECRET: 'a-webhook-secret-of-length',
  });
  assert.equal(c.jobs.enabled, true);
  assert.deepEqual(c.jobs.runWindows, ['16:30-00:30']);
});
