import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../../src/errors.ts';
import { parseFleetText } from '../../../src/mock/fleet-file.ts';
import { resolveOptions } from '../../../src/mock/options.ts';
import { drawFaults } from '../../../src/mock/random-faults.ts';
import { requestRng, RNG_STREAM } from '../../../src/mock/rng.ts';
import { FAULT_KEYS, OUTAGE_KEYS, UPSTREAM_KEYS } from '../../../src/mock/fleet-schema.ts';

const GOOD = `
upstreams:
  - name: deepseek-busy
    port: 9201
    profile: storm
    rpm: 120
    faults: { error_500: 0.1 }
    outages:
      - { start_ms: 10000, end_ms: 15000, mode: refuse }
  - name: local
    ttft_ms: 5
    per_key_concurrency: 2
    continue_after_abort: true
`;

/** The problems a bad file gives, as printed. */
function problemsOf(text: string): string[] {
  try {
    parseFleetText(text, 'fleet.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, /fleet\.yaml/, 'the message names the file');
    return [...err.problems];
  }
  assert.fail('expected a ConfigError');
}

test('a fleet file becomes one MockOptions per upstream, snake_case keys mapped, on top of its profile', () => {
  const spec = parseFleetText(GOOD, 'fleet.yaml');
  const [busy, local] = spec.upstreams;
  assert.equal(busy?.name, 'deepseek-busy');
  assert.equal(busy?.port, 9201);
  assert.equal(busy?.slots, 8, 'from the storm profile');
  assert.equal(busy?.rpm, 120, 'the file overrides the profile');
  assert.equal(busy?.faults?.error500, 0.1);
  assert.equal(busy?.faults?.resetMidStream, 0.03, "the profile's other rates stay");
  assert.deepEqual(busy?.outages, [{ startMs: 10000, endMs: 15000, mode: 'refuse' }]);
  // Each upstream draws its faults and jitter from its own seed (its position past the answers' seed).
  assert.equal(busy?.faultSeed, 1);
  assert.deepEqual(local, {
    name: 'local',
    ttftMs: 5,
    perKeyConcurrency: 2,
    continueAfterAbort: true,
    faults: undefined,
    faultSeed: 2,
  });
});

test('upstreams of one fleet fail independently: their fault draws differ, their answers do not', () => {
  const spec = parseFleetText(
    'upstreams:\n  - { name: a, faults: { error_500: 0.5 } }\n  - { name: b, faults: { error_500: 0.5 } }\n  - { name: c, fault_seed: 9, faults: { error_500: 0.5 } }\n',
    'fleet.yaml',
  );
  const [a, b, c] = spec.upstreams.map((u) => resolveOptions(u));
  assert.equal(a?.seed, b?.seed, 'the same answers');
  assert.deepEqual([a?.faultSeed, b?.faultSeed, c?.faultSeed], [1, 2, 9]);
  const draws = (seed: number) =>
    Array.from(
      { length: 40 },
      (_, i) => drawFaults({ error500: 0.5 }, requestRng(seed, RNG_STREAM.faults, i + 1), 16)?.kind ?? '-',
    ).join(',');
  assert.notEqual(draws(a?.faultSeed ?? 0), draws(b?.faultSeed ?? 0));
});

test('a bad fleet file names the key path, line, value and expectation of every mistake', () => {
  const problems = problemsOf(`
upstreams:
  - name: a
    ttft: 3
    token_ms: fast
    reject: 500
    faults: { error_500: 2 }
    outages:
      - { start_ms: 100, end_ms: 50, mode: nap }
  - port: 1
`);
  const expected = [
    /^upstreams\[0\]\.ttft \(line 4\): unknown key; expected one of: name, profile, .*ttft_ms/,
    /^upstreams\[0\]\.token_ms \(line 5\): got "fast", expected a whole number of milliseconds/,
    /^upstreams\[0\]\.reject \(line 6\): got 500, expected 429, 503 or 529$/,
    /^upstreams\[0\]\.faults\.error_500 \(line 7\): got 2, expected a probability from 0 to 1$/,
    /^upstreams\[0\]\.outages\[0\]\.mode \(line 9\): got "nap", expected "refuse" or "hang"$/,
    /^upstreams\[1\]\.name \(line 10\): missing; expected a name/,
  ];
  for (const re of expected)
    assert.ok(
      problems.some((p) => re.test(p)),
      `${re}\nin:\n${problems.join('\n')}`,
    );
});

test('what the schema cannot see is checked too: duplicate names, window order, rates adding up over 1', () => {
  const problems = problemsOf(`
upstreams:
  - name: a
    faults: { error_500: 0.6, stall: 0.6 }
    outages:
      - { start_ms: 0, end_ms: 100, mode: hang }
      - { start_ms: 50, end_ms: 40, mode: refuse }
  - name: a
`);
  const expected = [
    /^upstreams\[0\]\.outages\[1\]\.end_ms \(line 7\): got 40, expected more than start_ms \(50\)/,
    /^upstreams\[0\]\.outages\[1\]\.start_ms \(line 7\): got 50, expected at least the end_ms of outages\[0\] \(100\)/,
    /^upstreams\[0\]\.faults \(line 4\): fault rates add up to 1\.2, expected at most 1/,
    /^upstreams\[1\]\.name \(line 8\): got "a", expected a name not already used by upstreams\[0\]/,
  ];
  for (const re of expected)
    assert.ok(
      problems.some((p) => re.test(p)),
      `${re}\nin:\n${problems.join('\n')}`,
    );
});

test('a YAML syntax error, an empty file and a missing list are clear too', () => {
  assert.match(problemsOf('upstreams: [\n').join(), /line \d+, column \d+: YAML syntax error/);
  assert.deepEqual(problemsOf(''), ['upstreams: missing; expected a list of at least one upstream']);
  assert.deepEqual(problemsOf('upstreams: []'), [
    'upstreams (line 1): got [], expected a list of at least one upstream',
  ]);
});

test('docs/mock.md names every fleet key, and its example fleet file is valid', () => {
  const doc = readFileSync(new URL('../../../docs/mock.md', import.meta.url), 'utf8');
  for (const key of [...Object.keys(UPSTREAM_KEYS), ...Object.keys(FAULT_KEYS), ...Object.keys(OUTAGE_KEYS)]) {
    assert.ok(doc.includes(`\`${key}\``), `docs/mock.md does not mention \`${key}\``);
  }
  // Fenced as `yml`: the gateway's docs test checks every `yaml` block starting with "upstreams:" as a gateway config.
  const example = /```yml\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(example !== undefined, 'a yaml example');
  const spec = parseFleetText(example, 'docs/mock.md');
  assert.deepEqual(
    spec.upstreams.map((u) => u.name),
    ['deepseek-busy', 'sglang-local', 'spare'],
  );
});
