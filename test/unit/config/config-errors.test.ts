import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/errors.ts';

const base = `upstreams:
  - name: a
    url: http://127.0.0.1:9000/v1
models:
  chat:
    routes: [{ upstream: a }]
`;

/** Each wrong config, with what its error must say: the key path and the expectation (the file name is checked for all). */
const WRONG: { name: string; yaml: string; says: RegExp[] }[] = [
  {
    name: 'unknown top-level key',
    yaml: `${base}extra: 1\n`,
    says: [
      /extra \(line 7\): unknown key; expected one of: server, admin, log, auth, tenants, state, upstreams, models, queue, degrade, adaptive_concurrency, retry, health, tracing, cache, jobs/,
    ],
  },
  {
    name: 'unknown upstream key (typo)',
    yaml: base.replace('    url:', '    max_concurency: 5\n    url:'),
    says: [/upstreams\[0\]\.max_concurency \(line 3\): unknown key; expected one of: name, url/],
  },
  {
    name: 'port out of range',
    yaml: `server: { port: 70000 }\n${base}`,
    says: [/server\.port \(line 1\): got 70000, expected a whole number ≥ 0 and ≤ 65535/],
  },
  {
    name: 'duration without unit',
    yaml: `server: { drain_grace: 30 }\n${base}`,
    says: [/server\.drain_grace \(line 1\): got 30, expected a duration such as "250ms", "5s"/],
  },
  {
    name: 'duration with a wrong unit',
    yaml: base.replace('    url:', '    timeouts: { connect: 5sec }\n    url:'),
    says: [/upstreams\[0\]\.timeouts\.connect \(line 3\): got "5sec", expected a duration/],
  },
  {
    name: 'missing url',
    yaml: base.replace('    url: http://127.0.0.1:9000/v1\n', ''),
    says: [/upstreams\[0\]\.url \(line 2\): missing; expected an http:\/\/ or https:\/\/ URL/],
  },
  {
    name: 'url without scheme',
    yaml: base.replace('http://127.0.0.1:9000/v1', '127.0.0.1:9000'),
    says: [/upstreams\[0\]\.url \(line 3\): got "127.0.0.1:9000", expected an http:\/\/ or https:\/\/ URL/],
  },
  {
    name: 'max_concurrency zero',
    yaml: base.replace('    url:', '    max_concurrency: 0\n    url:'),
    says: [/upstreams\[0\]\.max_concurrency \(line 3\): got 0, expected a whole number ≥ 1/],
  },
  {
    name: 'route to an unknown upstream',
    yaml: base.replace('upstream: a', 'upstream: b'),
    says: [/models\.chat\.routes\[0\]\.upstream \(line 6\): got "b", expected the name of an upstream \(one of: a\)/],
  },
  {
    name: 'duplicate upstream names',
    yaml: base.replace('models:', '  - name: a\n    url: http://127.0.0.1:9001\nmodels:'),
    says: [/upstreams\[1\]\.name \(line 4\): got "a", expected a name not already used by upstreams\[0\]/],
  },
  {
    name: 'no models',
    yaml: base.replace(/models:[\s\S]*/, 'models: {}\n'),
    says: [/models \(line 4\): got \{\}, expected a map of public model name to \{ routes \}/],
  },
  {
    name: 'unset environment variable',
    yaml: base.replace('    url:', '    api_key: ${SPILLWAY_TEST_UNSET_KEY}\n    url:'),
    says: [/upstreams\[0\]\.api_key \(line 3\): environment variable SPILLWAY_TEST_UNSET_KEY is not set/],
  },
  {
    name: 'wrong log level',
    yaml: `log: { level: loud }\n${base}`,
    says: [/log\.level \(line 1\): got "loud", expected one of trace, debug, info/],
  },
  {
    name: 'gateway key with both key and hash',
    yaml: `auth:\n  keys:\n    - { key: abcdefgh12, key_sha256: ${'a'.repeat(64)}, tenant: t }\n${base}`,
    says: [/auth\.keys\[0\] \(line 3\): expected exactly one of key or key_sha256/],
  },
  {
    name: 'ejection_max below ejection_base',
    yaml: `health: { ejection_base: 2m, ejection_max: 1m }\n${base}`,
    says: [/health\.ejection_max \(line 1\): got "1m", expected at least health\.ejection_base/],
  },
  {
    name: 'tracing endpoint that is not an http URL',
    yaml: `tracing: { otlp_endpoint: "grpc://collector:4317" }\n${base}`,
    says: [
      /tracing\.otlp_endpoint \(line 1\): got "grpc:\/\/collector:4317", expected null, empty, or an http\(s\) URL/,
    ],
  },
  {
    name: 'cache of an unknown model',
    yaml: `${base}cache: { models: [chat, nope] }\n`,
    says: [/cache\.models\[1\] \(line 7\): got "nope", expected a public model \(one of: chat\)/],
  },
  {
    name: 'tenant in two cache groups',
    yaml: `${base}cache:\n  tenant_groups: { a: [t1], b: [t1] }\n`,
    says: [/cache\.tenant_groups\.b\[0\].*got "t1", expected a tenant in one group only/],
  },
  {
    name: 'cache ttl jitter above 100',
    yaml: `${base}cache: { ttl_jitter_percent: 150 }\n`,
    says: [/cache\.ttl_jitter_percent \(line 7\): got 150, expected a whole number ≥ 0 and ≤ 100/],
  },
  { name: 'YAML syntax error', yaml: 'upstreams: [\n', says: [/line \d+, column \d+: YAML syntax error/] },
  {
    name: 'not a map',
    yaml: '- 1\n- 2\n',
    says: [/\(top level\): got \[1,2\], expected a map with upstreams and models/],
  },
];

for (const c of WRONG) {
  test(`config error: ${c.name} names the file, key and expectation`, () => {
    assert.throws(
      () => parseConfigText(c.yaml, 'conf/spillway.yaml', {}),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError, 'a ConfigError');
        assert.match(e.message, /^invalid config conf\/spillway\.yaml:/);
        for (const re of c.says) assert.match(e.message, re);
        return true;
      },
    );
  });
}

test('a wrong api_key type is reported without showing the value', () => {
  assert.throws(
    () => parseConfigText(base.replace('    url:', '    api_key: 12345678901234567890\n    url:'), 'f.yaml', {}),
    (e: Error) => {
      assert.doesNotMatch(e.message, /12345678901234567890/);
      assert.match(e.message, /upstreams\[0\]\.api_key \(line 3\): got \*\*\*\*/);
      return true;
    },
  );
});

test('a valid config is resolved with defaults, durations in ms, env interpolated, and frozen', () => {
  const c = parseConfigText(base.replace('    url:', '    api_key: ${KEY}\n    url:'), 'f.yaml', {
    KEY: 'sk-test-123',
  });
  assert.equal(c.server.port, 8080);
  assert.equal(c.server.drainGraceMs, 30_000);
  assert.equal(c.upstreams[0]?.accounts[0]?.apiKey, 'sk-test-123');
  assert.equal(c.upstreams[0]?.timeouts.firstTokenMs, null, 'first_token defaults to auto (adaptive)');
  assert.equal(c.upstreams[0]?.timeouts.totalMs, 600_000);
  assert.equal(c.upstreams[0]?.connections, 256);
  assert.equal(c.models.chat?.routes[0]?.model, 'chat', 'the upstream model defaults to the public name');
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.upstreams[0]) && Object.isFrozen(c.models.chat?.routes));
  assert.throws(() => {
    (c.server as { port: number }).port = 1;
  }, TypeError);
});

test('${VAR:-default} falls back when the variable is unset', () => {
  const c = parseConfigText(
    base.replace('    url: http://127.0.0.1:9000/v1', '    url: ${UP_URL:-http://127.0.0.1:9999}'),
    'f.yaml',
    {},
  );
  assert.equal(c.upstreams[0]?.url, 'http://127.0.0.1:9999');
});

test('a key naming an undeclared tenant is a config error naming the key, the value and the declared tenants', () => {
  const keys = (tenants: string) =>
    `auth:\n  keys:\n    - { key: gateway-key-001, tenant: team-a }\n    - { key: gateway-key-002, tenant: tema-b }\n${tenants}${base}`;
  assert.throws(
    () => parseConfigText(keys('tenants: { team-a: {}, team-b: {} }\n'), 'conf/spillway.yaml', {}),
    (e: Error) => {
      assert.match(e.message, /^invalid config conf\/spillway\.yaml:/);
      assert.match(
        e.message,
        /auth\.keys\[1\]\.tenant \(line 4\): got "tema-b", expected a tenant declared under tenants \(one of: team-a, team-b\)/,
      );
      assert.doesNotMatch(e.message, /auth\.keys\[0\]/);
      return true;
    },
  );
  assert.throws(
    () => parseConfigText(keys(''), 'f.yaml', {}),
    /auth\.keys\[0\]\.tenant \(line 3\): got "team-a", expected a tenant declared under tenants \(none is: add tenants: \{ team-a: \{\} \}\)/,
  );
  assert.equal(parseConfigText(keys('tenants: { team-a: {}, tema-b: {} }\n'), 'f.yaml', {}).auth.keys.length, 2);
});

test('max_priority defaults to normal (high only for a tenant whose priority is high), and priority above it is an error', () => {
  const c = parseConfigText(
    `tenants:\n  plain: {}\n  live: { priority: high }\n  batch: { priority: low }\n  vip: { max_priority: high }\n${base}`,
    'f.yaml',
    {},
  );
  assert.deepEqual(Object.fromEntries(Object.entries(c.tenants).map(([n, t]) => [n, [t.priority, t.maxPriority]])), {
    plain: ['normal', 'normal'],
    live: ['high', 'high'],
    batch: ['low', 'normal'],
    vip: ['normal', 'high'],
  });
  assert.throws(
    () => parseConfigText(`tenants:\n  x: { priority: high, max_priority: normal }\n${base}`, 'f.yaml', {}),
    /tenants\.x\.priority \(line 2\): got "high", expected at most its max_priority \("normal"\)/,
  );
});
