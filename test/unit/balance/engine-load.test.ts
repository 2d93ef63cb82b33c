import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineQueues, ourRunsOn, parseEngineMetrics } from '../../../src/balance/engine-load.ts';

test('engine metrics are read from vLLM and SGLang exposition text', () => {
  const vllm = [
    '# HELP vllm:num_requests_waiting Number of requests waiting.',
    '# TYPE vllm:num_requests_waiting gauge',
    'vllm:num_requests_waiting{engine="0",model_name="ds"} 7.0',
    'vllm:num_requests_waiting{engine="1",model_name="ds"} 3.0',
    'vllm:num_requests_running{engine="0",model_name="ds"} 12.0',
    'vllm:kv_cache_usage_perc{engine="0",model_name="ds"} 0.42',
    'vllm:kv_cache_usage_perc{engine="1",model_name="ds"} 0.97',
    'process_cpu_seconds_total 12.5',
  ].join('\n');
  assert.deepEqual(parseEngineMetrics(vllm), { waiting: 10, running: 12, kvUsage: 0.97 });
  const sglang =
    'sglang:num_queue_reqs{model_name="x"} 4\nsglang:num_running_reqs{model_name="x"} 2\nsglang:token_usage{model_name="x"} 0.5\n';
  assert.deepEqual(parseEngineMetrics(sglang), { waiting: 4, running: 2, kvUsage: 0.5 });
  assert.equal(parseEngineMetrics('process_cpu_seconds_total 1\n'), undefined, 'not an engine');
  assert.equal(parseEngineMetrics('vllm:num_requests_waiting garbage\n'), undefined);
});

test('what an engine with a queue runs of ours is its running count, in proportion to our share of what it holds', () => {
  const rows: [running: number, waiting: number, ours: number, runs: number, why: string][] = [
    [16, 24, 40, 16, 'ours alone: it runs its batch'],
    [16, 24, 43, 16, 'three more sent since it was read'],
    [16, 24, 39, 16, 'one finished since it was read'],
    [16, 24, 37, 15, 'three finished since it was read: a slot less'],
    [16, 48, 32, 8, 'half of what it holds is ours: half of its batch'],
    [12, 4, 16, 12, 'a KV cache that runs fewer than the batch'],
    [0, 5, 20, 15, 'no running count: ours less its queue'],
  ];
  for (const [running, waiting, ours, runs, why] of rows)
    assert.equal(ourRunsOn({ running, waiting, kvUsage: 0 }, ours), runs, why);
});

test('a queue of one read once is a request between two scheduling steps, not a full engine', () => {
  const at = (waiting: number) => ({ running: 15, waiting, kvUsage: 0 });
  const rows: [waiting: number, before: number | undefined, queues: boolean][] = [
    [0, undefined, false],
    [1, undefined, false],
    [1, 0, false],
    [1, 1, true],
    [1, 3, true],
    [2, undefined, true],
    [24, 0, true],
  ];
  for (const [waiting, before, queues] of rows)
    assert.equal(
      engineQueues(at(waiting), before === undefined ? undefined : at(before)),
      queues,
      `${waiting} after ${before}`,
    );
});
