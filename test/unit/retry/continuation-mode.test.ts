import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelConfig } from '../../../src/config/types.ts';
import {
  continuationMode,
  continuationRoutes,
  continuesSomewhere,
  mayContinue,
} from '../../../src/retry/continuation.ts';
import type { UpstreamKind } from '../../../src/upstream/upstream-kind.ts';

test('auto continues exactly where the kind allows it; an explicit mode wins on every kind', () => {
  const cases: [ModelConfig['continuation'], UpstreamKind, string][] = [
    ['auto', 'deepseek', 'prefix'],
    ['auto', 'vllm', 'continue_final_message'],
    ['auto', 'sglang', 'continue_final_message'],
    ['auto', 'ollama', 'off'],
    ['auto', 'openai', 'off'],
    ['off', 'deepseek', 'off'],
    ['prompt', 'openai', 'prompt'],
    ['prefix', 'vllm', 'prefix'],
    ['continue_final_message', 'deepseek', 'continue_final_message'],
  ];
  for (const [setting, kind, mode] of cases)
    assert.equal(continuationMode(setting, kind), mode, `${setting} on ${kind}`);
});

const kinds: Record<string, UpstreamKind> = { ds: 'deepseek', ds2: 'deepseek', vl: 'vllm', sg: 'sglang', oa: 'openai' };
const kindOf = (u: string): UpstreamKind => kinds[u] ?? 'openai';
const model = (continuation: ModelConfig['continuation'], ...upstreams: string[]): ModelConfig => ({
  name: 'chat',
  routes: upstreams.map((upstream) => ({ upstream, model: 'm', weight: 1 })),
  fallback: [],
  continuation,
  limits: {},
  degradeTo: null,
  hedge: null,
});

test('the text sent is tracked only when some route of the chain could continue it', () => {
  assert.equal(mayContinue([model('auto', 'oa')], kindOf), false);
  assert.equal(mayContinue([model('auto', 'oa', 'vl')], kindOf), true);
  assert.equal(mayContinue([model('off', 'ds'), model('auto', 'oa')], kindOf), false);
  assert.equal(
    mayContinue([model('off', 'ds'), model('auto', 'sg')], kindOf),
    true,
    'a fallback that can continue counts',
  );
  assert.equal(mayContinue([model('prompt', 'oa')], kindOf), true);
});

test('a continuation goes on on every route of the model that continues exactly, whichever way it began', () => {
  const m = model('auto', 'ds', 'vl', 'ds2', 'oa', 'sg');
  assert.deepEqual(
    continuationRoutes(m, kindOf).routes.map((r) => r.upstream),
    ['ds', 'vl', 'ds2', 'sg'],
    'an answer begun on a DeepSeek may go on on vLLM or SGLang, and one begun on vLLM on a DeepSeek',
  );
  const explicit = model('prompt', 'ds', 'oa');
  assert.equal(continuationRoutes(explicit, kindOf), explicit, 'an explicit mode keeps every route');
});

test('an answer begun where it cannot be continued goes on on any route of the model that continues exactly', () => {
  const m = model('auto', 'ds', 'vl', 'oa', 'sg');
  assert.deepEqual(
    continuationRoutes(m, kindOf).routes.map((r) => r.upstream),
    ['ds', 'vl', 'sg'],
    'the generic host that cut it cannot continue exactly; every exact route may',
  );
  assert.equal(continuesSomewhere(model('auto', 'oa', 'vl'), kindOf), true, 'a cut on "oa" is continued on "vl"');
  assert.equal(continuesSomewhere(model('auto', 'oa'), kindOf), false, 'nowhere to continue: the in-band error');
  assert.equal(continuesSomewhere(model('off', 'ds'), kindOf), false);
});
