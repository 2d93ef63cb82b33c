import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayConfigFor, loadScenario } from '../../../src/storm/scenario.ts';

test("a scenario's capacity is what its fleet serves with every slot busy, load-dependent TTFT included", () => {
  const s = loadScenario(new URL('../../../bench/scenarios/overload.yaml', import.meta.url).pathname);
  // Mean max_tokens 32. big: TTFT 250 ms + 5 ms for each of the 23 other requests in flight; mid and small: flat.
  const expected = 24 / (0.25 + 23 * 0.005 + 32 * 0.01) + 12 / (0.3 + 32 * 0.012) + 6 / (0.4 + 32 * 0.015);
  assert.ok(Math.abs(s.capacityRps - expected) < 1e-9, `${s.capacityRps} ≠ ${expected}`);
  // The rate curve is in multiples of it: the 1.0× phase is exactly the capacity.
  assert.ok(Math.abs((s.curve[2] as readonly [number, number])[1] - expected) < 1e-9);
});

test("with prompts in the mix, the capacity counts the mean prompt's prefill", () => {
  const s = loadScenario(
    new URL('../../../bench/scenarios/selfhosted-rag-nometrics-caps-unknown.yaml', import.meta.url).pathname,
  );
  // Per engine: 200 ms + 5 ms × 15 others + 2 050 mean prompt tokens × 0.1 ms + 32 tokens × 10 ms = 800 ms.
  assert.ok(Math.abs(s.capacityRps - 2 * (16 / 0.8)) < 1e-9, String(s.capacityRps));
  assert.deepEqual(s.mix.promptTokens, [100, 4000]);
});

test('a variant starts from its base, replaces whole top-level keys, patches fleet upstreams and can hide the caps', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'scenario-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'base.yaml'),
    [
      'description: base',
      'duration_s: 10',
      'rate: [[0, 1]]',
      'mix: { max_tokens: [4, 4], deadline_s: 30 }',
      'fleet: { upstreams: [{ name: a, slots: 2 }, { name: b, slots: 3 }] }',
      'gateway: { upstreams: [{ name: a, max_concurrency: 2, keys: [{ key: k1, max_concurrency: 1 }] }, { name: b, max_concurrency: 3 }], models: { chat: { routes: [{ upstream: a }] } } }',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'variant.yaml'),
    [
      'based_on: base.yaml',
      'description: variant',
      'caps: unknown',
      'client: { sdk_retries: true }',
      "fleet_patch: { '*': { faults: { blank_200: 0.1 } }, b: { slots: 5 } }",
    ].join('\n'),
  );
  const base = loadScenario(join(dir, 'base.yaml'));
  const v = loadScenario(join(dir, 'variant.yaml'));
  assert.equal(v.description, 'variant');
  assert.equal(v.durationS, 10, 'from the base');
  assert.deepEqual(
    v.fleet.upstreams.map((u) => [u.name, u.slots, u.faults?.blank200]),
    [
      ['a', 2, 0.1],
      ['b', 5, 0.1],
    ],
  );
  assert.deepEqual(v.client, { deadlineHeader: 'stainless', sdkRetries: true });
  assert.deepEqual(base.client, { deadlineHeader: 'stainless', sdkRetries: false });
  const urls = { a: 'http://a', b: 'http://b' };
  const known = gatewayConfigFor(base, urls) as { upstreams: Record<string, unknown>[] };
  assert.equal(known.upstreams[0]?.max_concurrency, 2);
  const unknown = gatewayConfigFor(v, urls) as {
    upstreams: { max_concurrency?: number; keys?: Record<string, unknown>[] }[];
  };
  assert.deepEqual(
    unknown.upstreams.map((u) => u.max_concurrency),
    [undefined, undefined],
  );
  assert.deepEqual(unknown.upstreams[0]?.keys, [{ key: 'k1' }]);
  writeFileSync(join(dir, 'bad.yaml'), 'based_on: base.yaml\nfleet_patch: { c: { slots: 1 } }\n');
  assert.throws(() => loadScenario(join(dir, 'bad.yaml')), /c is not an upstream of the fleet/);
});
